#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few valid inputs per target,
and a few that once broke something. Deterministic; run it again after changing it and commit the files.
Inputs a fuzzing run finds that crash are added by hand, under a name that says what they were."""
import json
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))


def seed(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# HTTP requests as clients send them, and as the hostile ones did.
seed("fuzz_http_request", "get_heartbeat", "GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n")
seed("fuzz_http_request", "post_async",
     "POST /api/v2/generate/async HTTP/1.1\r\nHost: x\r\napikey: 0000000000\r\nClient-Agent: a:1:b\r\n"
     "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"prompt\":\"cat\"}\n")
seed("fuzz_http_request", "query", "GET /api/v2/r2/image/x/0?expires=1&sig=ab%20c HTTP/1.1\r\nHost: x\r\n\r\n")
seed("fuzz_http_request", "bad_path", "GET /%ff HTTP/1.1\r\nHost: x\r\n\r\n")
seed("fuzz_http_request", "bad_header", b"GET / HTTP/1.1\r\nHost: x\r\nClient-Agent: caf\xe9\r\n\r\n")
seed("fuzz_http_request", "chunked",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")

# generate/async bodies.
seed("fuzz_generate_request", "minimal", json.dumps({"prompt": "a cat"}))
seed("fuzz_generate_request", "full", json.dumps({
    "prompt": "a lighthouse at dusk ### blurry", "models": ["stable_diffusion"], "nsfw": False,
    "censor_nsfw": False, "r2": True, "dry_run": False, "workers": ["1"], "worker_blacklist": False,
    "params": {"sampler_name": "k_euler_a", "cfg_scale": 7.5, "steps": 20, "width": 512, "height": 768,
               "n": 2, "seed": "1312", "seed_variation": 3, "karras": True, "clip_skip": 2,
               "denoising_strength": 0.6},
    "source_image": "iVBORw0KGgo=", "webhook": "https://hooks.example.com/x"}))
seed("fuzz_generate_request", "nested", '{"prompt":"x","params":' + "[" * 40 + "]" * 40 + "}")
seed("fuzz_generate_request", "unicode", json.dumps({"prompt": "caf\u00e9 \U0001F600", "params": {"n": 1}}))

# pop, submit, worker PUT and transfer bodies.
seed("fuzz_worker_requests", "pop", json.dumps({
    "name": "w1", "models": ["stable_diffusion", "sdxl"], "max_pixels": 1048576, "threads": 2, "nsfw": True,
    "allow_img2img": True, "bridge_agent": "AI Horde Worker reGen:10.1.1:https://example.invalid"}))
seed("fuzz_worker_requests", "submit", json.dumps({
    "id": "4fcc4884-b72a-4728-8979-25e8e0d2ea9d", "generation": "R2", "state": "ok", "seed": 1312}))
seed("fuzz_worker_requests", "submit_faulted", json.dumps({
    "id": "4fcc4884-b72a-4728-8979-25e8e0d2ea9d", "state": "faulted", "seed": -1}))
seed("fuzz_worker_requests", "worker_put", json.dumps({"maintenance": True, "info": "back soon"}))
seed("fuzz_worker_requests", "transfer", json.dumps({"username": "alice#2", "amount": 12.5}))

# BASP frames: a client handshake, a message, a heartbeat; and a 4 GiB announcement.
def frame(op, payload=b""):
    return struct.pack(">BBBBIQqq", op, 0, 0, 0, len(payload), 0, 0, 0) + payload


seed("fuzz_basp_frames", "session", frame(1, b"h" * 40) + frame(2, b"m" * 100) + frame(6))
seed("fuzz_basp_frames", "huge", struct.pack(">BBBBIQqq", 1, 0, 0, 0, 0xffffffff, 0, 0, 0))
seed("fuzz_basp_frames", "early_message", frame(2, b"x" * 8))

# Stored records: a format byte (1) then a protobuf; an empty one and garbage.
seed("fuzz_store_records", "empty_v1", b"\x01")
seed("fuzz_store_records", "fields_v1", b"\x01\x0a\x10" + bytes(range(16)) + b"\x10\x02\x1a\x03abc")
seed("fuzz_store_records", "bad_utf8_v1", b"\x01\x12\x03\xff\xfe\xfd")
seed("fuzz_store_records", "unknown_format", b"\x07\x08\x01")


# safetensors: an 8-byte header length, the JSON header, the data.
def safetensors(tensors, data):
    header = json.dumps(tensors).encode()
    return struct.pack("<Q", len(header)) + header + data


seed("fuzz_safetensors", "two_tensors", safetensors(
    {"__metadata__": {"format": "pt"},
     "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
     "b": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]}}, bytes(24)))
seed("fuzz_safetensors", "overlap", safetensors(
    {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
seed("fuzz_safetensors", "huge_shape", safetensors(
    {"a": {"dtype": "BF16", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}, b""))


# A 2x2 PNG, written here (filter 0 rows of RGB), and the start of a WebP.
def png(w, h):
    raw = b"".join(b"\x00" + b"".join(bytes([x * 60, y * 60, 128]) for x in range(w)) for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


seed("fuzz_image_decode", "png_2x2", png(2, 2))
seed("fuzz_image_decode", "png_claims_huge", png(2, 2)[:16] + struct.pack(">II", 100000, 100000) + png(2, 2)[24:])
seed("fuzz_image_decode", "webp_header", b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10")

# Prompts.
seed("fuzz_prompt", "plain", "a lighthouse at dusk, oil painting")
seed("fuzz_prompt", "negative", "a cat ### blurry, lowres")
seed("fuzz_prompt", "weights", "(red hair:1.3), [blue eyes], masterpiece")
seed("fuzz_prompt", "unicode", "caf\u00e9 \u65e5\u672c \U0001F600 \u0301\u200b")
seed("fuzz_prompt", "long", " ".join(["word"] * 400))

# Requests through the live gateway: a method byte (0 GET, 1 POST, 2 PUT, 3 DELETE, 4 PATCH, 5 OPTIONS), a key
# byte (0 none, 1 anonymous, 2 a user's, 3 a wrong one), the target, a newline, the body.
def request(method, key, target, body=""):
    return bytes([method, key]) + target.encode() + b"\n" + (body if isinstance(body, bytes) else body.encode())


GET, POST, PUT, DELETE = 0, 1, 2, 3
job = "4fcc4884-b72a-4728-8979-25e8e0d2ea9d"
seed("fuzz_gateway_router", "heartbeat", request(GET, 0, "/api/v2/status/heartbeat"))
seed("fuzz_gateway_router", "models", request(GET, 0, "/api/v2/status/models"))
seed("fuzz_gateway_router", "performance", request(GET, 0, "/api/v2/status/performance"))
seed("fuzz_gateway_router", "totals", request(GET, 0, "/api/v2/stats/img/totals"))
seed("fuzz_gateway_router", "async", request(POST, 2, "/api/v2/generate/async", json.dumps(
    {"prompt": "a cat", "models": ["stable_diffusion"], "params": {"steps": 5, "n": 1}})))
seed("fuzz_gateway_router", "async_anonymous", request(POST, 0, "/api/v2/generate/async", json.dumps(
    {"prompt": "a cat", "params": {"width": 512, "height": 512}, "dry_run": True})))
seed("fuzz_gateway_router", "check", request(GET, 0, "/api/v2/generate/check/" + job))
seed("fuzz_gateway_router", "status", request(GET, 0, "/api/v2/generate/status/" + job))
seed("fuzz_gateway_router", "cancel", request(DELETE, 1, "/api/v2/generate/status/" + job))
seed("fuzz_gateway_router", "events", request(GET, 0, "/api/v2/generate/events/" + job))
seed("fuzz_gateway_router", "pop", request(POST, 2, "/api/v2/generate/pop", json.dumps(
    {"name": "fuzz-worker", "models": ["stable_diffusion"], "max_pixels": 262144})))
seed("fuzz_gateway_router", "submit", request(POST, 2, "/api/v2/generate/submit", json.dumps(
    {"id": job, "generation": "R2", "state": "ok", "seed": 1})))
seed("fuzz_gateway_router", "workers", request(GET, 0, "/api/v2/workers"))
seed("fuzz_gateway_router", "worker_name", request(GET, 0, "/api/v2/workers/name/fuzz-worker"))
seed("fuzz_gateway_router", "worker_put", request(PUT, 2, "/api/v2/workers/1", json.dumps({"maintenance": True})))
seed("fuzz_gateway_router", "users", request(GET, 0, "/api/v2/users?page=1&sort=kudos"))
seed("fuzz_gateway_router", "user", request(GET, 0, "/api/v2/users/1"))
seed("fuzz_gateway_router", "find_user", request(GET, 2, "/api/v2/find_user"))
seed("fuzz_gateway_router", "transfer", request(POST, 2, "/api/v2/kudos/transfer", json.dumps(
    {"username": "fuzzer#1", "amount": 1})))
seed("fuzz_gateway_router", "upload", request(PUT, 0, "/api/v2/r2/upload/" + job + "?expires=1&sig=00", b"\x89PNG"))
seed("fuzz_gateway_router", "image", request(GET, 0, "/api/v2/r2/image/" + job + "/0?expires=1&sig=00"))
seed("fuzz_gateway_router", "web", request(GET, 0, "/"))
seed("fuzz_gateway_router", "swagger", request(GET, 0, "/api/swagger.json"))
seed("fuzz_gateway_router", "bad_path", request(GET, 3, "/api/v2/workers/name/\xff"))
