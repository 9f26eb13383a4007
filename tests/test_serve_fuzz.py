"""Schemathesis against the monitoring service's OpenAPI document: requests generated from it for every operation
(a bounded number each, derandomized: the same requests each run), sent over loopback to the app served by uvicorn
in a thread, on a real SQLite store, with a write token of the whole roster. No answer is a server error, and each
answer's status, content type and body are those the document declares for the operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rules_engine.monitor.service import Config, Service
from rules_engine.monitor.tokens import create_token

from .test_service import RULES, Live, county_roster

# about 150 requests, a few of which build a monitor (the clock moved on a period, a reload): ~10 s of CPU
pytestmark = pytest.mark.slow

EXAMPLES = 20  # per operation
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    db = folder / "store.db"
    token = create_token(db, "county", write=True)[1]
    service = Service(
        Config(roster=str(county_roster(folder)), rules=(RULES,), db=str(db), period="2024", clock="2024-06-01")
    )
    live = Live(service)
    yield live, token
    live.stop()
    service.close()


def test_no_server_error_and_each_answer_as_documented(served: tuple[Live, str]) -> None:
    live, token = served
    api = schemathesis.openapi.from_url(live.url + "/openapi.json")
    failed, ran = [], []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            check()
        except BaseException as exc:  # (every operation is tried)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failed.append(f"{operation.label}: {exc}")
        ran.append(operation.label)
    assert len(ran) >= 9, ran
    assert not failed, "\n\n".join(failed)
