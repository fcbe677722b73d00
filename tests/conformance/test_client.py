"""horde-sdk as a requester: the calls AI Horde clients make, against a real core, with a fake worker (made of
horde-sdk's own models) doing the work."""

from __future__ import annotations

import base64
import threading
import uuid

import pytest
import requests
from horde_sdk.ai_horde_api.ai_horde_clients import (
    AIHordeAPIClientSession,
    AIHordeAPIManualClient,
    AIHordeAPISimpleClient,
)
from horde_sdk.ai_horde_api.apimodels import (
    FindUserRequest,
    ImageGenerateAsyncDryRunResponse,
    ImageGenerateAsyncRequest,
    ImageGenerateAsyncResponse,
    ImageGenerationInputPayload,
    UserDetailsResponse,
)
from horde_sdk.ai_horde_api.apimodels.generate._check import ImageGenerateCheckRequest
from horde_sdk.ai_horde_api.apimodels.generate._status import ImageGenerateStatusRequest
from horde_sdk.ai_horde_api.exceptions import AIHordePayloadValidationError
from horde_sdk.generic_api.apimodels import RequestErrorResponse
from PIL import Image

import helpers
from conftest import BASE
from helpers import FakeWorker, ok, unique


@pytest.fixture
def client() -> AIHordeAPIManualClient:
    return AIHordeAPIManualClient()


def find_user(client, apikey: str) -> UserDetailsResponse:
    return ok(client.submit_request(FindUserRequest(apikey=apikey), UserDetailsResponse))


def checked_in_worker(owner: dict, model: str | None = None, **kwargs) -> FakeWorker:
    """A worker that has popped once (so the core knows its model) and found nothing."""
    worker = FakeWorker(owner["api_key"], models=[model or unique("conf-model")], **kwargs)
    assert worker.pop().id_ is None
    return worker


def test_heartbeat_and_swagger(core):
    beat = AIHordeAPISimpleClient().heartbeat_request()
    assert isinstance(beat.version, str) and beat.version
    spec = requests.get(f"{core.base}/api/swagger.json", timeout=10).json()
    assert spec["swagger"] == "2.0"
    assert spec["basePath"] == "/api"
    assert "/v2/generate/async" in spec["paths"]
    assert "ModelGenerationInputStable" in spec["definitions"]


def test_find_user_and_unknown_key(client, requester):
    me = find_user(client, requester["api_key"])
    assert me.username == requester["username"]
    assert me.kudos == pytest.approx(requester["kudos"])
    wrong = client.submit_request(FindUserRequest(apikey="x" * 22), UserDetailsResponse)
    assert isinstance(wrong, RequestErrorResponse)
    assert wrong.rc == "InvalidAPIKey"


def test_anonymous_request_waits(client):
    job = helpers.submit_job(client, "0000000000", prompt="conformance anonymous")
    try:
        check = ok(client.get_generate_check(job.id_))
        assert check.done is False
        assert check.waiting == 1 and check.processing == 0 and check.finished == 0
        assert isinstance(check.wait_time, int) and isinstance(check.queue_position, int)
        assert isinstance(check.is_possible, bool)
        status = helpers.status_of(client, job.id_)
        assert status.generations == []
    finally:
        helpers.cancel(job.id_)


def test_registered_roundtrip_over_r2_pays_the_worker(client, requester, worker_owner):
    worker = checked_in_worker(worker_owner)
    before_req = find_user(client, requester["api_key"]).kudos
    before_wrk = find_user(client, worker_owner["api_key"]).kudos
    job = helpers.submit_job(client, requester["api_key"], models=worker.models)
    assert isinstance(job.kudos, float) and job.kudos > 0

    popped = worker.pop_job()
    assert popped.ids == [popped.id_]
    assert popped.model == worker.models[0]
    assert popped.payload.prompt == "a lighthouse at dusk"
    assert popped.payload.n_iter == 1 and popped.payload.ddim_steps == 5
    assert popped.r2_uploads and len(popped.r2_uploads) == 1
    assert isinstance(popped.ttl, int) and popped.ttl > 0
    ack = worker.finish(popped, helpers.png_bytes(popped))
    assert ack.reward > 0

    check = helpers.wait_done(client, job.id_)
    assert check.finished == 1 and check.faulted is False
    status = helpers.status_of(client, job.id_)
    assert len(status.generations) == 1
    g = status.generations[0]
    assert g.seed == popped.payload.seed and isinstance(g.seed, str)
    assert g.worker_name == worker.name and g.model == worker.models[0] and g.state == "ok"
    assert g.censored is False
    assert g.img.startswith(BASE + "/api/v2/r2/image/")
    image = AIHordeAPISimpleClient().download_image_from_generation(g)
    assert image.size == (popped.payload.width, popped.payload.height)
    assert check.kudos == pytest.approx(status.kudos)

    after_req = find_user(client, requester["api_key"]).kudos
    after_wrk = find_user(client, worker_owner["api_key"]).kudos
    assert after_req == pytest.approx(before_req - status.kudos, abs=1)
    # The owner earns the reward (and uptime, which accrues while the worker is online).
    assert after_wrk >= before_wrk + ack.reward - 0.01


def test_base64_roundtrip(client, requester, worker_owner):
    worker = checked_in_worker(worker_owner)
    req = helpers.generate_request(requester["api_key"], models=worker.models, r2=False)
    job = ok(client.submit_request(req, ImageGenerateAsyncResponse))
    popped = worker.pop_job()
    worker.finish_base64(popped, helpers.webp_bytes(popped))
    helpers.wait_done(client, job.id_)
    g = helpers.status_of(client, job.id_).generations[0]
    data = base64.b64decode(g.img)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def test_simple_client_roundtrip(requester, worker_owner):
    """`AIHordeAPISimpleClient.image_generate_request` end to end while a worker thread does the job."""
    worker = checked_in_worker(worker_owner)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            worker.finish(worker.pop_job())
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    t = threading.Thread(target=work)
    t.start()
    simple = AIHordeAPISimpleClient()
    status, job_id = simple.image_generate_request(
        helpers.generate_request(requester["api_key"], models=worker.models), timeout=30)
    t.join(30)
    assert not errors, errors
    assert len(status.generations) == 1
    assert isinstance(simple.download_image_from_generation(status.generations[0]), Image.Image)


def test_dry_run_queues_nothing(requester, worker_owner):
    worker = checked_in_worker(worker_owner)
    req = helpers.generate_request(requester["api_key"], models=worker.models, n=2, dry_run=True)
    quote = AIHordeAPISimpleClient().image_generate_request_dry_run(req)
    assert isinstance(quote, ImageGenerateAsyncDryRunResponse) and quote.kudos > 0
    raw = helpers.http("POST", "/generate/async", apikey=requester["api_key"],
                       json={"prompt": "dry", "models": worker.models, "dry_run": True})
    body = helpers.json_of(raw)
    assert raw.status_code == 200 and "id" not in body and body["kudos"] > 0
    assert worker.pop().id_ is None


def test_batch_of_four(client, requester, worker_owner):
    worker = checked_in_worker(worker_owner, threads=2)
    job = helpers.submit_job(client, requester["api_key"], models=worker.models, n=4)
    seen = set()
    seeds = set()
    for i in range(4):
        popped = worker.pop_job()
        assert popped.id_ not in seen
        seen.add(popped.id_)
        seeds.add(popped.payload.seed)
        check = ok(client.get_generate_check(job.id_))
        assert check.done is False
        worker.finish(popped)
    assert len(seeds) == 4
    check = helpers.wait_done(client, job.id_)
    assert check.finished == 4
    status = helpers.status_of(client, job.id_)
    assert len(status.generations) == 4
    assert len({g.id_ for g in status.generations}) == 4


def test_cancel_with_delete(client, requester, worker_owner):
    worker = checked_in_worker(worker_owner)
    job = helpers.submit_job(client, requester["api_key"], models=worker.models, n=2)
    first = worker.pop_job()
    worker.finish(first)
    status = ok(client.delete_pending_image(job.id_))
    assert status.done is True
    assert len(status.generations) == 1  # delivered images stay
    assert worker.pop().id_ is None
    check = ok(client.get_generate_check(job.id_))
    assert check.done is True and check.waiting == 0


def test_session_exit_cancels_pending_request(client, requester, worker_owner):
    """An exception inside an `AIHordeAPIClientSession` makes the SDK DELETE what it left pending."""
    worker = checked_in_worker(worker_owner)
    job_ids = []
    with pytest.raises(RuntimeError, match="client gave up"):
        with AIHordeAPIClientSession() as session:
            req = helpers.generate_request(requester["api_key"], models=worker.models)
            job = ok(session.submit_request(req, ImageGenerateAsyncResponse))
            job_ids.append(job.id_)
            raise RuntimeError("client gave up")
    check = ok(client.get_generate_check(job_ids[0]))
    assert check.done is True
    assert worker.pop().id_ is None


def test_validation_errors_raise_payload_validation_error(client, requester):
    # model_construct skips the SDK's own checks, so the server is the one refusing.
    bad = ImageGenerateAsyncRequest.model_construct(
        apikey=requester["api_key"], prompt="bad size", models=["stable_diffusion"],
        params=ImageGenerationInputPayload.model_construct(width=500, height=512, steps=5, n=1),
    )
    with pytest.raises(AIHordePayloadValidationError):
        client.submit_request(bad, ImageGenerateAsyncResponse)
    many = ImageGenerateAsyncRequest.model_construct(
        apikey=requester["api_key"], prompt="too many", models=["stable_diffusion"],
        params=ImageGenerationInputPayload.model_construct(n=21),
    )
    with pytest.raises(AIHordePayloadValidationError):
        client.submit_request(many, ImageGenerateAsyncResponse)


def test_unknown_request_id(client):
    missing = uuid.uuid4()
    for req in (ImageGenerateCheckRequest(id=missing), ImageGenerateStatusRequest(id=missing)):
        r = client.submit_request(req, req.get_default_success_response_type())
        assert isinstance(r, RequestErrorResponse)
        assert r.rc == "RequestNotFound"
