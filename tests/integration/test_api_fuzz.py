"""A bounded schema-driven fuzz run of the HTTP API (schemathesis against
/openapi.json), on both stores: no request, however odd, gets a 5xx."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from simgate.services.accounts import create_account
from tests.support.servers import LiveServer

EXAMPLES = 50  # per operation and mode: a few hundred requests per store in all


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(shared_server: LiveServer, mode: GenerationMode) -> None:
    account, key = create_account(
        shared_server.engine, f"fuzz-{secrets.token_hex(4)}@example.com", "Europe/Paris", "FR"
    )
    schema = schemathesis.openapi.from_url(shared_server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/api/v1/sendsms", "/api/v1/contact", "/api/v1/clicTocall"
    }
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            # Half the requests carry a real key, so that they reach the
            # judging of every message and contact, not only the key check.
            body = case.body
            if isinstance(body, dict) and isinstance(body.get("header"), dict):
                if len(repr(body)) % 2:
                    body["header"].update(login=account.email, accessKey=key)
            response = case.call(base_url=shared_server.url, timeout=60)
            assert response.status_code < 500, (
                case.method, case.path, body, response.status_code, response.text[:300]
            )

        try:
            check()
        except Unsatisfiable:
            # Nothing to break in a request without parameters (GET /healthz).
            assert mode is GenerationMode.NEGATIVE, operation.path
