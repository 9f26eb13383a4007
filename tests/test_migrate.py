"""``rules-engine migrate``: v1 packs rewritten into v2, the same rules and findings; --check; written whole."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rules_engine import RulesError, evaluate, load_rules, migrate_packs
from rules_engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
EXAMPLE = ROOT / "examples" / "county-2024"
IMPORTS = re.compile(r"\n# 本规则包使用的词表[^\n]*\nimports: \[cpc-basic\]\n")


def _born_v2(pack: Path) -> bool:
    """A pack written in v2 from the start (it declares terms of its own: it never had a v1 form)."""
    return re.search(r"^(org_kinds|roles|groups):", (pack / "pack.yaml").read_text(encoding="utf-8"), re.M) is not None


#: the shipped packs that were written in v1 and migrated
MIGRATED = sorted(p for p in RULES.iterdir() if (p / "pack.yaml").is_file() and not _born_v2(p))


def _as_v1(folder: Path) -> None:
    """The shipped (v2) packs as they were written in v1: the format line, no imports."""
    for path in folder.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = IMPORTS.sub("", text.replace("format: rules-engine/v2", "format: rules-engine/v1"))
        path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A v1 copy of the shipped packs, and the same migrated."""
    root = tmp_path_factory.mktemp("migrate")
    v1, v2 = root / "v1", root / "v2"
    for pack in MIGRATED:
        shutil.copytree(pack, v1 / pack.name)
    _as_v1(v1)
    shutil.copytree(v1, v2)
    migrate_packs([v2])
    return v1, v2


def test_migrating_the_v1_packs_gives_the_shipped_v2_packs(migrated: tuple[Path, Path]) -> None:
    v1, v2 = migrated
    assert "format: rules-engine/v1" in (v1 / "zhuti-zeren-2020" / "pack.yaml").read_text(encoding="utf-8")
    assert len(MIGRATED) >= 7  # (every pack shipped before v2)
    for path in sorted(p for pack in MIGRATED for p in pack.rglob("*.yaml")):
        assert (v2 / path.relative_to(RULES)).read_bytes() == path.read_bytes(), path


@pytest.mark.slow
def test_v1_and_migrated_packs_give_the_same_findings_on_the_example(migrated: tuple[Path, Path]) -> None:
    v1, v2 = migrated

    def findings(rules: Path) -> list[str]:
        report = evaluate(
            load_rules(rules),
            EXAMPLE / "roster.yaml",
            [EXAMPLE / "records.jsonl"],
            period="2024",
            as_of="2025-01-15",
            waivers=[EXAMPLE / "waivers.yaml"],
        )
        return [json.dumps(f.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) for f in report.findings]

    before, after = findings(v1), findings(v2)
    assert len(before) > 1000 and before == after


def test_check_reports_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "zhibu-gongzuo-2018"
    shutil.copytree(RULES / "zhibu-gongzuo-2018", pack)
    _as_v1(pack)
    before = {p: p.read_bytes() for p in pack.iterdir()}
    assert main(["migrate", str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "pack.yaml: format: rules-engine/v2; imports: [cpc-basic]" in out and "jiang-dangke.yaml" in out
    assert {p: p.read_bytes() for p in pack.iterdir()} == before
    assert main(["migrate", str(tmp_path)]) == 0
    text = (pack / "pack.yaml").read_text(encoding="utf-8")
    first, second = text.splitlines()[:2]
    assert first.startswith("# yaml-language-server:") and second.startswith("# 规则包清单")  # comments kept
    assert "imports: [cpc-basic]" in text
    assert main(["migrate", str(tmp_path), "--check"]) == 0
    assert "nothing to change" in capsys.readouterr().out


def test_a_pack_that_does_not_load_stops_the_migration_of_every_pack(tmp_path: Path) -> None:
    for name in ("zhibu-gongzuo-2018", "shuzhi-pingyi-2019"):
        shutil.copytree(RULES / name, tmp_path / name)
    _as_v1(tmp_path)
    broken = tmp_path / "shuzhi-pingyi-2019" / "shuzhi-pingyi.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("org_kinds: [", "org_kinds: [no_such_kind, "), "utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.yaml")}
    with pytest.raises(RulesError) as raised:
        migrate_packs([tmp_path])
    assert [p.code for p in raised.value.problems] == ["rule.term.unknown"]
    assert str(raised.value.problems[0].location.file).startswith(str(tmp_path))
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.yaml")} == before
