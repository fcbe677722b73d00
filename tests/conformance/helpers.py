"""What the conformance tests share: a horde-sdk requester and a fake worker made of horde-sdk's own request
and response models (as horde-sdk's CI roundtrip test does), plus plain-HTTP helpers for the rules the SDK
does not check."""

from __future__ import annotations

import base64
import io
import time
import uuid

import requests
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient
from horde_sdk.ai_horde_api.apimodels import (
    ImageGenerateAsyncRequest,
    ImageGenerateAsyncResponse,
    ImageGenerateCheckResponse,
    ImageGenerateJobPopRequest,
    ImageGenerateJobPopResponse,
    ImageGenerateStatusResponse,
    ImageGenerationInputPayload,
    ImageGenerationJobSubmitRequest,
    JobSubmitResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse
from PIL import Image

from conftest import API

REGEN_AGENT = "AI Horde Worker reGen:10.1.1:https://github.com/Haidra-Org/horde-worker-reGen"
TIMEOUT_S = 30


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def picture(job=None, tint: int = 0) -> Image.Image:
    """An RGB gradient of the popped job's size (results are decoded and checked: the size must be the job's,
    and one flat colour is refused)."""
    size = (int(job.payload.width), int(job.payload.height)) if job is not None else (64, 64)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.new("L", size, tint)))


def png_bytes(job=None, tint: int = 30) -> bytes:
    out = io.BytesIO()
    picture(job, tint).save(out, format="PNG")
    return out.getvalue()


def webp_bytes(job=None, tint: int = 200) -> bytes:
    out = io.BytesIO()
    picture(job, tint).save(out, format="WEBP")
    return out.getvalue()


def ok(response):
    """The SDK's parsed response, failing the test with the server's words when it is an error."""
    assert not isinstance(response, RequestErrorResponse), f"{response.rc}: {response.message} {response.object_data}"
    return response


def generate_request(apikey: str, prompt: str = "a lighthouse at dusk", *, models=None, n: int = 1,
                     steps: int = 5, **kwargs) -> ImageGenerateAsyncRequest:
    return ImageGenerateAsyncRequest(
        apikey=apikey,
        prompt=prompt,
        models=models or ["stable_diffusion"],
        params=ImageGenerationInputPayload(width=512, height=512, steps=steps, n=n, sampler_name="k_euler"),
        **kwargs,
    )


def submit_job(client: AIHordeAPIManualClient, apikey: str, **kwargs) -> ImageGenerateAsyncResponse:
    return ok(client.submit_request(generate_request(apikey, **kwargs), ImageGenerateAsyncResponse))


def wait_done(client: AIHordeAPIManualClient, job_id, timeout_s: float = TIMEOUT_S) -> ImageGenerateCheckResponse:
    deadline = time.monotonic() + timeout_s
    while True:
        check = ok(client.get_generate_check(job_id))
        if check.done:
            return check
        assert time.monotonic() < deadline, f"job {job_id} not done after {timeout_s} s: {check}"
        time.sleep(0.1)


def wait_check(client: AIHordeAPIManualClient, job_id, pred, timeout_s: float = TIMEOUT_S) -> ImageGenerateCheckResponse:
    """Checks until `pred(check)` holds: a worker's fault reaches the job a moment after the submit answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        check = ok(client.get_generate_check(job_id))
        if pred(check):
            return check
        assert time.monotonic() < deadline, f"job {job_id} never got there: {check}"
        time.sleep(0.05)


def cancel(job_id) -> None:
    requests.delete(f"{API}/generate/status/{job_id}", timeout=10)


class FakeWorker:
    """An AI Horde HTTP worker that pops and submits like reGen: the pop body of reGen 10.1.1, the image PUT to
    `r2_uploads[i]` without a Content-Type, then `generation: "R2"` with an integer seed."""

    def __init__(self, apikey: str, name: str | None = None, models=None, threads: int = 1) -> None:
        self.apikey = apikey
        self.name = name or unique("conf-worker")
        self.models = models or ["stable_diffusion"]
        self.threads = threads
        self.client = AIHordeAPIManualClient()

    def pop_request(self, amount: int = 1) -> ImageGenerateJobPopRequest:
        return ImageGenerateJobPopRequest(
            apikey=self.apikey, name=self.name, bridge_agent=REGEN_AGENT, models=self.models,
            max_pixels=512 * 512 * 2, nsfw=True, amount=amount, threads=self.threads,
            allow_img2img=True, allow_painting=False, allow_unsafe_ipaddr=True, allow_post_processing=False,
            allow_controlnet=False, allow_sdxl_controlnet=False, allow_lora=False, require_upfront_kudos=False,
        )

    def pop(self) -> ImageGenerateJobPopResponse:
        return ok(self.client.submit_request(self.pop_request(), ImageGenerateJobPopResponse))

    def pop_job(self, timeout_s: float = TIMEOUT_S) -> ImageGenerateJobPopResponse:
        """Pops until a job comes (the gateway holds an empty pop for up to a second)."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.pop()
            if job.id_ is not None:
                return job
            assert time.monotonic() < deadline, f"worker {self.name} got no job in {timeout_s} s"

    def upload(self, job: ImageGenerateJobPopResponse, data: bytes, index: int = 0) -> None:
        url = job.r2_uploads[index]
        r = requests.put(url, data=data, timeout=10)  # requests sends no Content-Type for bytes, as reGen
        assert r.status_code == 200, r.text

    def submit(self, job: ImageGenerateJobPopResponse, *, state: str = "ok", generation: str = "R2",
               seed: int | None = None, apikey: str | None = None):
        sub = ImageGenerationJobSubmitRequest(
            apikey=apikey or self.apikey, id=job.id_, state=state, generation=generation,
            seed=int(job.payload.seed) if seed is None else seed, censored=False,
        )
        return self.client.submit_request(sub, JobSubmitResponse)

    def finish(self, job: ImageGenerateJobPopResponse, image: bytes | None = None) -> JobSubmitResponse:
        """The reGen path: PUT the bytes to R2, then submit "R2"."""
        self.upload(job, image or webp_bytes(job))
        return ok(self.submit(job))

    def finish_base64(self, job: ImageGenerateJobPopResponse, image: bytes | None = None) -> JobSubmitResponse:
        """The legacy path: the image itself, base64, in the submit."""
        return ok(self.submit(job, generation=base64.b64encode(image or webp_bytes(job)).decode()))


def status_of(client: AIHordeAPIManualClient, job_id) -> ImageGenerateStatusResponse:
    return ok(client.get_generate_status(job_id))


# -- plain HTTP -----------------------------------------------------------------------------------------------


def http(method: str, path: str, *, apikey: str | None = None, base: str = API, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if apikey is not None:
        headers["apikey"] = apikey
    headers.setdefault("Client-Agent", "crowdiff-conformance:1:tests")
    return requests.request(method, base + path, headers=headers, timeout=30, **kwargs)


def json_of(r: requests.Response):
    """The JSON body of a response, after checking it says it is JSON (aiohttp-based clients insist)."""
    assert r.headers.get("Content-Type", "").startswith("application/json"), (r.status_code, r.headers, r.text)
    return r.json()


def assert_error(r: requests.Response, status: int, rc: str | None = None) -> dict:
    body = json_of(r)
    assert r.status_code == status, (r.status_code, body)
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("rc"), str), body
    if rc is not None:
        assert body["rc"] == rc, body
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    return body
