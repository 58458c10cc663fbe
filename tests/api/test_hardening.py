"""Bodies nested too deeply, and the rate-limit bucket of callers with invented tokens."""

from __future__ import annotations

import pytest

from portal.api.limits import MAX_JSON_DEPTH, RATE_LIMIT_PER_MINUTE


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
@pytest.mark.parametrize("bracket", ["[]", '{"a":}'])
def test_deeply_nested_json_is_a_400_problem(client, db, auth, depth, bracket):
    opening, closing = (bracket[0], bracket[1]) if bracket == "[]" else ('{"a":', "}")
    body = '{"accounts":' + opening * depth + "1" + closing * depth + "}"
    response = client.post("/api/v1/accounts:batch", data=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "too_deeply_nested"


def test_a_body_at_the_depth_limit_is_read(client, db, auth):
    body = '{"accounts":' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    response = client.post("/api/v1/accounts:batch", data=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422  # read, then refused for what it says


def test_invented_tokens_share_one_bucket_per_address(client, db, auth):
    for n in range(RATE_LIMIT_PER_MINUTE):
        response = client.get("/api/v1/events", headers={"Authorization": f"Bearer spk_{n:012x}_made-up"})
        assert response.status_code == 401
    refused = client.get("/api/v1/events", headers={"Authorization": "Bearer spk_ffffffffffff_yet-another"})
    assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
    # A real client keeps its own bucket, however its header is spelled.
    assert client.get("/api/v1/events", headers=auth).status_code == 200
    scheme, token = auth["Authorization"].split(" ")
    assert client.get("/api/v1/events", headers={"Authorization": f"bearer  {token}"}).status_code == 200


def test_a_client_bucket_is_the_client_whatever_the_header_spelling(client, db, auth):
    _, token = auth["Authorization"].split(" ")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer  {token}"]
    for n in range(RATE_LIMIT_PER_MINUTE):
        assert client.get("/api/v1/events", headers={"Authorization": spellings[n % 4]}).status_code == 200
    assert client.get("/api/v1/events", headers={"Authorization": spellings[1]}).status_code == 429
