"""Kudos transfers (POST /v2/kudos/transfer) through horde-sdk and over plain HTTP."""

from __future__ import annotations

import pytest
from horde_sdk.ai_horde_api.ai_horde_clients import AIHordeAPIManualClient
from horde_sdk.ai_horde_api.apimodels import (
    FindUserRequest,
    ImageGenerateAsyncDryRunResponse,
    ImageGenerateAsyncRequest,
    ImageGenerateAsyncResponse,
    ImageGenerationInputPayload,
    KudosTransferRequest,
    KudosTransferResponse,
    UserDetailsResponse,
)
from horde_sdk.generic_api.apimodels import RequestErrorResponse

import helpers
from helpers import ok


def kudos_of(client, apikey: str) -> float:
    return ok(client.submit_request(FindUserRequest(apikey=apikey), UserDetailsResponse)).kudos


def test_transfer_moves_kudos(core):
    client = AIHordeAPIManualClient()
    giver = core.test_user()
    taker = core.test_user()
    before = kudos_of(client, giver["api_key"]), kudos_of(client, taker["api_key"])
    sent = ok(client.submit_request(
        KudosTransferRequest(apikey=giver["api_key"], username=taker["username"], amount=10), KudosTransferResponse))
    assert sent.transferred == pytest.approx(10)
    after = kudos_of(client, giver["api_key"]), kudos_of(client, taker["api_key"])
    assert after[0] == pytest.approx(before[0] - 10)
    assert after[1] == pytest.approx(before[1] + 10)


def test_transfer_refusals(core):
    client = AIHordeAPIManualClient()
    giver = core.test_user()
    taker = core.test_user()
    before = kudos_of(client, giver["api_key"])
    too_much = client.submit_request(
        KudosTransferRequest(apikey=giver["api_key"], username=taker["username"], amount=before + 1000),
        KudosTransferResponse)
    assert isinstance(too_much, RequestErrorResponse) and too_much.rc == "KudosTransferNotEnough"
    cases = [
        ("0000000000", {"username": taker["username"], "amount": 1}, 400, "KudosTransferFromAnon"),
        (giver["api_key"], {"username": giver["username"], "amount": 1}, 400, "KudosTransferToSelf"),
        (giver["api_key"], {"username": "nobody#999999", "amount": 1}, 404, "UserNotFound"),
        (giver["api_key"], {"username": taker["username"], "amount": -5}, 400, "ValidationError"),
        (giver["api_key"], {"username": taker["username"], "amount": "5"}, 400, "ValidationError"),
        (giver["api_key"], {"amount": 5}, 400, "ValidationError"),
        ("y" * 22, {"username": taker["username"], "amount": 1}, 401, "InvalidAPIKey"),
    ]
    for key, body, status, rc in cases:
        helpers.assert_error(helpers.http("POST", "/kudos/transfer", apikey=key, json=body), status, rc)
    assert kudos_of(client, giver["api_key"]) == pytest.approx(before)


def test_transfer_idempotency_key_replays(core):
    giver = core.test_user()
    taker = core.test_user()
    client = AIHordeAPIManualClient()
    before = kudos_of(client, giver["api_key"])
    for _ in range(2):
        r = helpers.http("POST", "/kudos/transfer", apikey=giver["api_key"],
                         headers={"Idempotency-Key": "conformance-replay"},
                         json={"username": taker["username"], "amount": 3})
        assert helpers.json_of(r)["transferred"] == pytest.approx(3)
    assert kudos_of(client, giver["api_key"]) == pytest.approx(before - 3)


def test_big_requests_need_kudos_upfront(core):
    """Over the free limits a request needs its price in hand: 403 KudosUpfront, as the AI Horde answers it,
    unless allow_downgrade shrinks it; a dry run quotes what the submit will charge."""
    client = AIHordeAPIManualClient()
    anonymous = "0000000000"
    big = dict(models=["stable_diffusion"], params=ImageGenerationInputPayload(
        width=2048, height=2048, steps=150, n=1, sampler_name="k_euler"))
    refused = client.submit_request(
        ImageGenerateAsyncRequest(apikey=anonymous, prompt="a lighthouse", **big), ImageGenerateAsyncResponse)
    assert isinstance(refused, RequestErrorResponse) and refused.rc == "KudosUpfront", refused
    quote = ok(client.submit_request(
        ImageGenerateAsyncRequest(apikey=anonymous, prompt="a lighthouse", allow_downgrade=True, dry_run=True,
                                  **big), ImageGenerateAsyncDryRunResponse))
    job = ok(client.submit_request(
        ImageGenerateAsyncRequest(apikey=anonymous, prompt="a lighthouse", allow_downgrade=True, **big),
        ImageGenerateAsyncResponse))
    assert job.kudos == pytest.approx(quote.kudos)
    helpers.cancel(job.id_)
