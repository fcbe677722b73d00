"""The rules horde-sdk does not check (it refuses bad requests before sending them and accepts any extra
field), checked over plain HTTP: JSON errors, CORS, value types, the empty pop, hostile input, limits."""

from __future__ import annotations

import socket
import uuid

import pytest
import requests

import helpers
from helpers import assert_error, http, json_of, unique


def queue_and_balance(requester: dict) -> tuple[int, float]:
    perf = json_of(http("GET", "/status/performance"))
    me = json_of(http("GET", "/find_user", apikey=requester["api_key"]))
    return perf["queued_requests"], me["kudos"]


def test_errors_are_json_with_cors(core):
    assert_error(http("GET", "/no/such/endpoint"), 404, "NotFound")
    assert_error(http("GET", "/generate/check/not-a-uuid"), 404, "RequestNotFound")
    assert_error(http("GET", f"/generate/status/{uuid.uuid4()}"), 404, "RequestNotFound")
    assert_error(http("PATCH", "/generate/async"), 405)
    assert_error(http("GET", "/find_user", apikey="z" * 22), 401, "InvalidAPIKey")
    assert_error(requests.get(f"{core.base}/nothing-here", timeout=10), 404)


def test_cors_preflight_and_client_headers(core, requester):
    r = requests.options(f"{helpers.API}/generate/async", timeout=10, headers={
        "Origin": "https://artbot.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "apikey,client-agent,content-type"})
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    for h in ("apikey", "client-agent", "content-type", "x-fields"):
        assert h in allowed
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    # The Node client sends X-Fields and a JSON Content-Type on every GET, bodies or not.
    r = http("GET", "/find_user", apikey=requester["api_key"],
             headers={"X-Fields": "username,kudos", "Content-Type": "application/json", "Origin": "https://x"})
    assert r.status_code == 200 and json_of(r)["username"] == requester["username"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_value_types_of_check_and_status(core, requester, worker_owner):
    worker = helpers.FakeWorker(worker_owner["api_key"], models=[unique("conf-model")])
    assert worker.pop().id_ is None
    r = http("POST", "/generate/async", apikey=requester["api_key"],
             json={"prompt": "types", "models": worker.models, "params": {"steps": 5, "seed": "lighthouse"}})
    job = json_of(r)
    assert r.status_code == 202 and isinstance(job["kudos"], (int, float))
    check = json_of(http("GET", f"/generate/check/{job['id']}"))
    for key in ("finished", "processing", "restarted", "waiting", "wait_time", "queue_position"):
        assert type(check[key]) is int, (key, check)
    for key in ("done", "faulted", "is_possible"):
        assert type(check[key]) is bool, (key, check)
    popped = worker.pop_job()
    # AI Horde's seed rule: text is its UTF-8 bytes as a little-endian number, folded into 32 bits.
    value = int.from_bytes("lighthouse".encode(), "little")
    while value >= 2**32:
        value >>= 32
    assert popped.payload.seed == str(value)
    worker.finish(popped)
    helpers.wait_done(helpers.AIHordeAPIManualClient(), job["id"])
    status = json_of(http("GET", f"/generate/status/{job['id']}"))
    assert type(status["wait_time"]) is int and type(status["queue_position"]) is int
    g = status["generations"][0]
    assert g["seed"] == str(value)
    for key in ("worker_id", "worker_name", "model", "state", "img", "id"):
        assert isinstance(g[key], str), (key, g)
    assert type(g["censored"]) is bool


def test_pop_with_no_job_shape(worker_owner):
    r = http("POST", "/generate/pop", apikey=worker_owner["api_key"],
             json={"name": unique("shape"), "models": [unique("conf-model")], "max_pixels": 262144})
    body = json_of(r)
    assert r.status_code == 200
    assert {k: body[k] for k in ("id", "ids", "payload", "skipped", "model")} == {
        "id": None, "ids": [], "payload": {}, "skipped": {}, "model": None}


HOSTILE_GENERATE = [
    ("bad JSON", b'{"prompt": "x",', "application/json"),
    ("empty body", b"", "application/json"),
    ("array body", b"[1, 2, 3]", "application/json"),
    ("prompt is a number", b'{"prompt": 5}', "application/json"),
    ("params is a list", b'{"prompt": "x", "params": []}', "application/json"),
    ("width is text", b'{"prompt": "x", "params": {"width": "512"}}', "application/json"),
    ("width not a multiple of 64", b'{"prompt": "x", "params": {"width": 520}}', "application/json"),
    ("models is text", b'{"prompt": "x", "models": "stable_diffusion"}', "application/json"),
    ("nsfw is text", b'{"prompt": "x", "nsfw": "yes"}', "application/json"),
    ("huge steps", b'{"prompt": "x", "params": {"steps": 1e300}}', "application/json"),
    ("huge n", b'{"prompt": "x", "params": {"n": 99999999999999999999999999}}', "application/json"),
    ("out of range number", b'{"prompt": "x", "params": {"cfg_scale": 1e999}}', "application/json"),
    ("negative steps", b'{"prompt": "x", "params": {"steps": -1}}', "application/json"),
    ("NUL in prompt", b'{"prompt": "a\\u0000b"}', "application/json"),
    ("raw NUL byte", b'{"prompt": "a\x00b"}', "application/json"),
    ("invalid UTF-8", b'{"prompt": "\xff\xfe"}', "application/json"),
    ("invalid base64 source image", b'{"prompt": "x", "source_image": "@@@not base64@@@"}', "application/json"),
    ("unknown top-level field", b'{"prompt": "x", "surprise": true}', "application/json"),
    ("unknown params field", b'{"prompt": "x", "params": {"surprise": 1}}', "application/json"),
    ("unsupported feature", b'{"prompt": "x", "params": {"loras": [{"name": "x"}]}}', "application/json"),
    ("unknown sampler", b'{"prompt": "x", "params": {"sampler_name": "k_magic"}}', "application/json"),
    ("unknown model", b'{"prompt": "x", "models": ["no-such-model"]}', "application/json"),
    ("deep nesting", b'{"prompt": "x", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
    ("not JSON at all", b"prompt=x", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("name,body,content_type", HOSTILE_GENERATE, ids=[c[0] for c in HOSTILE_GENERATE])
def test_hostile_generate_is_refused_and_changes_nothing(requester, name, body, content_type):
    before = queue_and_balance(requester)
    r = http("POST", "/generate/async", apikey=requester["api_key"], data=body,
             headers={"Content-Type": content_type})
    err = json_of(r)
    assert 400 <= r.status_code < 500, (name, r.status_code, err)
    assert err["message"] and err["rc"], err
    assert queue_and_balance(requester) == before


def test_validation_errors_name_the_fields(requester):
    r = http("POST", "/generate/async", apikey=requester["api_key"],
             json={"params": {"width": 500, "n": 0}, "bogus": 1})
    err = assert_error(r, 400, "ValidationError")
    assert err["message"] == "Input payload validation failed"
    assert set(err["errors"]) >= {"prompt", "params.width", "params.n", "bogus"}


def test_hostile_worker_requests(requester, worker_owner):
    key = worker_owner["api_key"]
    for body in ({"name": "x" * 5000, "models": ["m"]}, {"name": "w", "models": "stable_diffusion"},
                 {"name": "w", "models": ["m"], "threads": 1000}, {"name": "w", "models": ["m"], "max_pixels": "x"},
                 {"name": "w\u0000", "models": ["m"]}, {"models": ["m"]}, [1]):
        assert_error(http("POST", "/generate/pop", apikey=key, json=body), 400)
    assert_error(http("POST", "/generate/pop", apikey=key, data=b"{"), 400)
    worker = helpers.FakeWorker(key, models=[unique("conf-model")])
    assert worker.pop().id_ is None
    job = helpers.submit_job(helpers.AIHordeAPIManualClient(), requester["api_key"], models=worker.models)
    popped = worker.pop_job()
    job_id = str(popped.id_)
    for body in ({"id": job_id, "generation": "@@@", "state": "ok", "seed": 1},
                 {"id": job_id, "generation": "aGVsbG8=", "state": "ok", "seed": 1},  # base64 of "hello"
                 {"id": job_id, "generation": "R2", "state": "exploded", "seed": 1},
                 {"id": job_id, "generation": "R2", "state": "ok", "seed": [1]},
                 {"id": "not-a-uuid", "generation": "R2", "state": "ok"}):
        r = http("POST", "/generate/submit", apikey=key, json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        json_of(r)
    # Uploads need the signed link the pop gave.
    upload = popped.r2_uploads[0]
    assert_error(requests.put(upload.split("?")[0], data=b"x", timeout=10), 403, "InvalidLink")
    assert_error(requests.put(upload.replace("sig=", "sig=00"), data=b"x", timeout=10), 403, "InvalidLink")
    # The job survived all of that.
    worker.finish(popped)
    assert helpers.wait_done(helpers.AIHordeAPIManualClient(), job.id_).finished == 1


def test_malformed_http_gets_a_json_answer(core):
    with socket.create_connection(("127.0.0.1", int(core.base.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"GARBAGE / HTTP/9.9\r\n\r\n")
        reply = s.recv(65536)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4")
    assert b"application/json" in head and b'"rc"' in body


def test_body_limit_413(strict_core):
    r = requests.post(f"{strict_core.api}/generate/async", data=b'{"prompt": "' + b"x" * 8000 + b'"}',
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert_error(r, 413)


def test_rate_limit_429_with_retry_after(strict_core):
    answers = [requests.get(f"{strict_core.api}/status/heartbeat", timeout=10) for _ in range(20)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited, [r.status_code for r in answers]
    assert_error(limited[0], 429, "TooManyRequests")
    assert int(limited[0].headers["Retry-After"]) >= 1
