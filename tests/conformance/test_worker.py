"""horde-sdk as a worker: pop, R2 upload, submit, faults and submit errors, as reGen (and the legacy worker)
send them."""

from __future__ import annotations

import uuid

import pytest
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient, AIHordeAPISimpleClient
from horde_sdk.ai_horde_api.apimodels import ImageGenerateJobPopResponse, JobSubmitResponse
from horde_sdk.generic_api.apimodels import RequestErrorResponse

import helpers
from helpers import FakeWorker, ok, unique


@pytest.fixture
def client() -> AIHordeAPIManualClient:
    return AIHordeAPIManualClient()


def test_empty_pop(worker_owner):
    worker = FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    empty = worker.pop()
    assert isinstance(empty, ImageGenerateJobPopResponse)
    assert empty.id_ is None and empty.ids == [] and empty.model is None
    assert empty.skipped is not None
    raw = helpers.http("POST", "/generate/pop", apikey=worker_owner["api_key"],
                       json=worker.pop_request().model_dump(by_alias=True, exclude_none=True))
    body = helpers.json_of(raw)
    assert raw.status_code == 200
    assert body["id"] is None and body["ids"] == [] and body["payload"] == {} and body["model"] is None
    assert body["skipped"] == {}


def test_anonymous_cannot_pop():
    worker = FakeWorker("0000000000")
    r = worker.client.submit_request(worker.pop_request(), ImageGenerateJobPopResponse)
    assert isinstance(r, RequestErrorResponse)
    assert r.rc == "AnonForbiddenWorker"


def test_fault_puts_the_image_back(client, requester, worker_owner):
    model = unique("conf-model")
    first = FakeWorker(worker_owner["api_key"], models=[model])
    second = FakeWorker(worker_owner["api_key"], models=[model])
    assert first.pop().id_ is None
    job = helpers.submit_job(client, requester["api_key"], models=[model])
    popped = first.pop_job()
    # The SDK's own cleanup for a popped job: state "faulted", generation "Faulted", the payload's seed.
    cleanup = popped.get_follow_up_failure_cleanup_request()[0]
    assert cleanup.state == "faulted"
    cleanup = cleanup.model_copy(update={"apikey": worker_owner["api_key"]})  # a session fills in its own key
    ack = ok(first.client.submit_request(cleanup, JobSubmitResponse))
    assert ack.reward == 0
    check = helpers.wait_check(client, job.id_, lambda c: c.restarted >= 1)
    assert check.done is False and check.faulted is False and check.waiting == 1
    # It runs again, on a worker that did not fault it.
    again = second.pop_job()
    assert again.payload.seed == popped.payload.seed
    second.finish(again)
    check = helpers.wait_done(client, job.id_)
    assert check.finished == 1 and check.faulted is False
    status = helpers.status_of(client, job.id_)
    assert status.generations[0].worker_name == second.name


def test_submit_errors(client, requester, worker_owner, other_user):
    worker = FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    assert worker.pop().id_ is None
    job = helpers.submit_job(client, requester["api_key"], models=worker.models)
    popped = worker.pop_job()
    # Another user's key may not submit it.
    wrong = worker.submit(popped, apikey=other_user["api_key"])
    assert isinstance(wrong, RequestErrorResponse) and wrong.rc == "WrongCredentials"
    worker.finish(popped)
    helpers.wait_done(client, job.id_)
    # A second submit of the same job: reGen drops the job when the message says "already submitted".
    worker.upload(popped, helpers.webp_bytes(popped))
    dup = worker.submit(popped)
    assert isinstance(dup, RequestErrorResponse) and dup.rc == "DuplicateGen"
    assert "already submitted" in dup.message
    # A job id nobody popped: reGen matches "Processing Job with ID" and "does not exist".
    unknown = worker.submit(popped.model_copy(update={"id_": uuid.uuid4()}))
    assert isinstance(unknown, RequestErrorResponse) and unknown.rc == "InvalidJobID"
    assert "Processing Job with ID" in unknown.message and "does not exist" in unknown.message
    raw = helpers.http("POST", "/generate/submit", apikey=worker_owner["api_key"],
                       json={"id": str(uuid.uuid4()), "generation": "R2", "state": "ok", "seed": 1})
    helpers.assert_error(raw, 404, "InvalidJobID")


def test_r2_submit_without_upload_is_refused(client, requester, worker_owner):
    worker = FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    assert worker.pop().id_ is None
    job = helpers.submit_job(client, requester["api_key"], models=worker.models)
    popped = worker.pop_job()
    r = worker.submit(popped)  # "R2" with nothing uploaded
    assert isinstance(r, RequestErrorResponse)
    # Nothing was lost: the job is still out, and a proper submit completes it.
    worker.finish(popped)
    assert helpers.wait_done(client, job.id_).finished == 1


def test_models_filter(client, requester, worker_owner):
    sd = FakeWorker(worker_owner["api_key"], models=["stable_diffusion"])
    deliberate = FakeWorker(worker_owner["api_key"], models=["Deliberate"])
    assert deliberate.pop().id_ is None
    job = helpers.submit_job(client, requester["api_key"], models=["Deliberate"])
    try:
        other = sd.pop()
        assert other.id_ is None or other.model != "Deliberate"
        popped = deliberate.pop_job()
        assert popped.model == "Deliberate"
        deliberate.finish(popped)
        assert helpers.wait_done(client, job.id_).finished == 1
        models = {m.name: m for m in AIHordeAPISimpleClient().image_status_models_all()}
        assert "Deliberate" in models and models["Deliberate"].count >= 1
    finally:
        helpers.cancel(job.id_)


def test_worker_changes_its_models(client, requester, worker_owner):
    """A worker that pops again under the same name with other models (as reGen does when it loads another
    model) is served for the new ones."""
    name = unique("conf-worker")
    old = FakeWorker(worker_owner["api_key"], name=name, models=[unique("conf-model")])
    assert old.pop().id_ is None
    new_model = unique("conf-model")
    new = FakeWorker(worker_owner["api_key"], name=name, models=[new_model])
    assert new.pop().id_ is None
    job = helpers.submit_job(client, requester["api_key"], models=[new_model])
    popped = new.pop_job()
    assert popped.model == new_model
    new.finish(popped)
    assert helpers.wait_done(client, job.id_).finished == 1


def test_workers_listing(worker_owner):
    worker = FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    assert worker.pop().id_ is None
    details = AIHordeAPISimpleClient().workers_all_details()
    mine = [w for w in details.root if w.name == worker.name]
    assert len(mine) == 1
    assert mine[0].type_ == "image" and mine[0].maintenance_mode is False
    assert mine[0].bridge_agent == helpers.REGEN_AGENT
    one = AIHordeAPISimpleClient().worker_details(mine[0].id_)
    assert one.name == worker.name


def test_legacy_worker_dialect(client, requester, worker_owner):
    """AI-Horde-Worker (bridge 24): no Client-Agent, `allow_unsafe_ip`, `bridge_version`, a job when `id` is
    truthy, a fault submitted with seed -1."""
    model = unique("conf-model")
    body = {
        "name": unique("legacy"), "max_pixels": 262144, "priority_usernames": [], "nsfw": True,
        "blacklist": [], "models": [model], "allow_img2img": True, "allow_painting": False,
        "allow_unsafe_ip": True, "threads": 1, "allow_post_processing": False, "allow_controlnet": False,
        "allow_lora": False, "require_upfront_kudos": False, "bridge_version": 24,
        "bridge_agent": "AI Horde Worker:24:https://github.com/db0/AI-Horde-Worker",
    }
    headers = {"apikey": worker_owner["api_key"]}

    def pop() -> dict:
        r = helpers.requests.post(f"{helpers.API}/generate/pop", json=body, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    assert not pop().get("id")
    job = helpers.submit_job(client, requester["api_key"], models=[model])
    try:
        for _ in range(30):
            popped = pop()
            if popped.get("id"):
                break
        assert popped.get("id")
        r = helpers.requests.post(f"{helpers.API}/generate/submit", headers=headers, timeout=10, json={
            "id": popped["id"], "state": "faulted", "generation": "faulted", "seed": -1})
        assert r.status_code == 200, r.text
        assert r.json()["reward"] == 0
        check = helpers.wait_check(client, job.id_, lambda c: c.restarted >= 1)
        assert check.done is False
    finally:
        helpers.cancel(job.id_)


def test_maintenance_and_regen_remove_maintenance_on_init(worker_owner):
    """PUT maintenance on: the next pop is 403 WorkerMaintenance ("maintenance mode", which reGen looks for).
    reGen's `remove_maintenance_on_init`: GET /v2/workers/name/{name}, then PUT {"maintenance": false}."""
    from horde_sdk.ai_horde_api.apimodels import ModifyWorkerRequest

    worker = FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    assert worker.pop().id_ is None
    simple = AIHordeAPISimpleClient()
    found = simple.worker_details_by_name(worker.name)
    assert found.name == worker.name and found.maintenance_mode is False
    changed = simple.worker_modify(ModifyWorkerRequest(apikey=worker_owner["api_key"], worker_id=found.id_,
                                                       maintenance=True))
    assert changed.maintenance is True
    refused = worker.client.submit_request(worker.pop_request(), ImageGenerateJobPopResponse)
    assert isinstance(refused, RequestErrorResponse) and refused.rc == "WorkerMaintenance"
    assert "maintenance mode" in refused.message
    assert simple.worker_details_by_name(worker.name).maintenance_mode is True
    simple.worker_modify(ModifyWorkerRequest(apikey=worker_owner["api_key"], worker_id=found.id_,
                                             maintenance=False))
    assert worker.pop().id_ is None
    missing = helpers.http("GET", f"/workers/name/{unique('nobody')}")
    helpers.assert_error(missing, 404, "WorkerNotFound")
