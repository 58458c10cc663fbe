"""The API's limits, defined once: the views enforce them, the OpenAPI document and the README
state them (tests/api/test_openapi_contract.py checks that they agree)."""

from __future__ import annotations

MAX_BODY = 2 * 1024 * 1024  # bytes in one request body
MAX_BATCH = 1000  # accounts in one POST /accounts:batch
MAX_CONTACT_BATCH = 1000  # contacts in one POST /contacts:batch
MAX_JSON_DEPTH = 32  # arrays and objects inside each other in one body
RATE_LIMIT_PER_MINUTE = 600  # requests per client (per address for requests without a valid token)
