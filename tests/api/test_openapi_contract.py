"""Schemathesis against the running app: the OpenAPI document is the truth.

Generated requests (valid and invalid) for every operation: never a server error, and every
response matches the documented status codes, content types and schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import AccountFactory, BorrowerFactory
from tests.fuzzing import examples


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def existing_account(lender):
    return AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")


@schema.parametrize()
@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_document(case, auth, existing_account):
    case.call_and_validate(
        headers=auth,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
