from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Report, evaluate, history, load_rules

from .postgres import StoreTemplates, copied_store, fresh_store, postgresql, postgresql_url  # noqa: F401  (the findings store's tests)

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
EXAMPLE = ROOT / "examples" / "county-2024"

MANIFEST = """\
format: rules-engine/v1
pack:
  id: test-pack
  version: 1.0.0
  title: {zh: 测试规则包, en: test pack}
  regulation: {id: test, document: 《测试规定》}
  effective: {from: 2020-01-01}
record_types:
  meeting: {zh: 会议, en: meeting}
  talk: {zh: 谈话, en: talk}
  visit: {zh: 督导, en: visit}
  feedback: {zh: 反馈, en: feedback}
  report: {zh: 报告, en: report}
"""

RULE_HEAD = """\
  - id: {id}
    title: {{zh: 测试规则, en: test rule}}
    citation: {{document: 《测试规定》, article: 8}}
    provenance: {{basis: local_practice}}
    org_kinds: [township, party_group]
"""


@pytest.fixture
def make_pack(tmp_path: Path):
    """Write a one-file test pack; `body` is the YAML of the rules list items after the common head."""

    def make(*rules: tuple[str, str], manifest: str = MANIFEST) -> Path:
        root = tmp_path / "pack"
        root.mkdir(exist_ok=True)
        (root / "pack.yaml").write_text(manifest, encoding="utf-8")
        text = "rules:\n"
        for rule_id, body in rules:
            text += RULE_HEAD.format(id=rule_id) + textwrap.indent(textwrap.dedent(body), "    ")
        (root / "rules.yaml").write_text(text, encoding="utf-8")
        return root

    return make


def person(
    pid: str,
    name: str,
    org: str,
    role: str,
    start: str = "2020-01-01",
    end: str | None = None,
    portfolios: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "posts": [{"org": org, "role": role, "start": start, "end": end, "portfolios": portfolios or []}],
    }


@pytest.fixture
def township() -> dict[str, Any]:
    """A township with a secretary, a deputy and two members (one leaves at the end of May)."""
    return {
        "organisations": [{"id": "t1", "name": "甲镇党委", "kind": "township"}],
        "people": [
            person("s1", "张书记", "t1", "secretary"),
            person("d1", "李副书记", "t1", "deputy_secretary", portfolios=["组织人事"]),
            person("m1", "王委员", "t1", "member", portfolios=["宣传思想", "政法"]),
            person("m2", "赵委员", "t1", "member", end="2024-05-31", portfolios=["经济发展"]),
        ],
    }


def rec(
    rid: str,
    rtype: str,
    date: str,
    chair: str | None = None,
    participants: list[str] | None = None,
    org: str = "t1",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": rid,
        "org": org,
        "type": rtype,
        "date": date,
        "chair": chair,
        "participants": participants or [],
        **extra,
    }


# -- the findings store with two runs of the example recorded (July, then January): the reports evaluated once per
# module, the store recorded once per module and copied for each test (test_history, test_rectify)

WAIVERS = str(EXAMPLE / "waivers.yaml")


def _report(period: str, as_of: str) -> Report:
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period=period,
        as_of=as_of,
        waivers=[WAIVERS],
    )


@pytest.fixture(scope="module")
def july() -> Report:
    return _report("2024", "2024-07-15")


@pytest.fixture(scope="module")
def january() -> Report:
    return _report("2024", "2025-01-15")


def _clock(day: str) -> history.core.Clock:
    return lambda: dt.datetime.fromisoformat(f"{day}T09:00:00+08:00")


@pytest.fixture(scope="module")
def two_runs(july: Report, january: Report, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    def fill(store: str) -> None:
        history.record(july, store, recorded_by="督查室", clock=_clock("2024-07-16"))
        history.record(january, store, recorded_by="督查室", clock=_clock("2025-01-16"))

    templates = StoreTemplates(fill, tmp_path_factory.mktemp("two-runs"))
    yield templates
    templates.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, two_runs: StoreTemplates, tmp_path: Path) -> Iterator[str]:
    """A store (a SQLite file, or a PostgreSQL database when a server can be had) with two runs: July, January
    (recorded once per module, a copy for each test)."""
    with copied_store(request, two_runs, tmp_path) as store:
        yield store


def _on_postgresql(item: pytest.Item) -> bool:
    """Whether the test runs on the throwaway PostgreSQL server (tests/postgres.py): it asks for the server, or it is
    the ``postgresql`` case of a store parametrized over SQLite and PostgreSQL."""
    if {"postgresql", "postgresql_url"} & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(value == "postgresql" for value in callspec.params.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the PostgreSQL server are marked ``postgresql`` (the other Pythons' CI jobs leave them to the main
    Python). The files holding the most slow tests run first (each file's own order kept): with ``-n auto --dist
    loadfile`` (the README's test command) a file runs whole on one process, and the longest started first leave
    no process alone at the end with the heaviest file (longest first). The same order on every process, as
    xdist requires."""
    for item in items:
        if _on_postgresql(item):
            item.add_marker(pytest.mark.postgresql)
    files = [item.nodeid.split("::")[0] for item in items]
    slow: dict[str, int] = {}
    for file, item in zip(files, items, strict=True):
        slow[file] = slow.get(file, 0) + (item.get_closest_marker("slow") is not None)
    first = {file: i for i, file in enumerate(dict.fromkeys(files))}
    order = sorted(range(len(items)), key=lambda i: (-slow[files[i]], first[files[i]]))
    items[:] = [items[i] for i in order]
