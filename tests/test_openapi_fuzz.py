"""Schemathesis against both apps' OpenAPI documents: no server error and no response outside the document.

The apps run for real (Hypercorn in a thread, the live server of the browser tests) over the test store. Requests
come from the documents generated from the code (web.openapi): every operation, with bodies and parameters drawn
from its schemas, signed in as a user (a bearer session token) on the web app and as an administrator (its cookie
and CSRF token) on the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from core.accounts.registration import create_admin, register_user
from tests.browser.conftest import LiveServer

# 502/503 are documented answers (an upstream or a provider refused, the store or payments are not available);
# an unhandled error is a 500, which `_call` refuses.
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "correct horse battery"
FUZZ = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def fuzzed(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(store_url=store_url, data_dir=tmp_path_factory.mktemp("fuzz-data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user_headers(fuzzed: LiveServer) -> dict[str, str]:
    fuzzed.call(lambda services: register_user(
        services.store, services.settings, None, email="fuzz@example.com", password=PASSWORD, now=services.clock()
    ))  # fmt: skip
    signed_in = httpx.post(f"{fuzzed.url}/api/auth/login", json={"email": "fuzz@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


@pytest.fixture(scope="module")
def admin_session(fuzzed: LiveServer) -> tuple[dict[str, str], dict[str, str]]:
    fuzzed.call(lambda services: create_admin(
        services.store, services.settings, email="root@example.com", password=PASSWORD, now=services.clock()
    ))  # fmt: skip
    client = httpx.Client(base_url=fuzzed.admin_url, headers={"Origin": fuzzed.admin_url})
    signed_in = client.post("/api/login", json={"email": "root@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    csrf = client.get("/api/me").json()["csrf_token"]
    return dict(client.cookies), {"X-CSRF-Token": csrf, "Origin": fuzzed.admin_url}


def fuzz(schema_url: str, call: Callable[[schemathesis.Case], None]) -> list[str]:
    """Run every operation of the document with generated requests; return what failed (operation: reason)."""
    schema = schemathesis.openapi.from_url(schema_url)
    failures: list[str] = []
    for loaded in schema.get_all_operations():
        operation = loaded.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            call(case)

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # collected and reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:600]}")
    return failures


def _validated(case: schemathesis.Case, **kwargs: Any) -> None:
    response = case.call_and_validate(checks=CHECKS, **kwargs)
    assert response.status_code != 500, f"{case.method} {case.path}: {response.text[:300]}"


def test_the_web_api_keeps_its_document(fuzzed: LiveServer, user_headers: dict[str, str]) -> None:
    def call(case: schemathesis.Case) -> None:
        if case.path in ("/api/auth/logout", "/api/sessions/revoke-others") or case.path.startswith("/api/sessions/"):
            _validated(case)  # without our session: it must stay alive for the others
            return
        _validated(case, headers=user_headers)

    assert fuzz(f"{fuzzed.url}/openapi.json", call) == []


def test_the_dashboard_api_keeps_its_document(
    fuzzed: LiveServer, admin_session: tuple[dict[str, str], dict[str, str]]
) -> None:
    cookies, headers = admin_session

    def call(case: schemathesis.Case) -> None:
        if case.path == "/api/logout":
            _validated(case)  # without the session: it must stay signed in for the others
            return
        _validated(case, headers=headers, cookies=cookies)

    assert fuzz(f"{fuzzed.admin_url}/openapi.json", call) == []
