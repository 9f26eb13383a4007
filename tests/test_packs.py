"""Where rule packs come from, and that none of them (nor any rule file) is passed over without a word.

Installed packs (bundled, entry points) as a wheel sees them are tested in ``test_packaging.py``; here the
bundled packs are the checkout's ``rules/`` (an editable install reads them in place).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rules_engine import RulesError, evaluate, lint, load_rules
from rules_engine.cli import main
from rules_engine.load.packs import bundled_root

from .conftest import EXAMPLE, RULES

PACK_IDS = sorted(p.parent.name for p in RULES.glob("*/pack.yaml"))
EVALUATE = ["evaluate", str(EXAMPLE / "roster.yaml"), str(EXAMPLE / "records.jsonl"), "--period", "2024"]
EVALUATE += ["--as-of", "2025-01-15"]


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with no rules/ in it."""
    work = tmp_path / "empty"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _codes(problems) -> list[str]:
    return [p.code for p in problems]


def _outcome(rules) -> list[tuple[str, str, str]]:
    report = evaluate(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15")
    return sorted((f.rule_id, f.subject.id, f.status.value) for f in report.findings)


# ------------------------------------------------------------------ installed packs


def test_load_rules_without_a_path_gives_the_bundled_packs(empty_cwd: Path) -> None:
    assert bundled_root() == RULES.resolve()  # a checkout: rules/ in place, nothing copied
    ruleset = load_rules()
    assert sorted(p.id for p in ruleset.packs) == PACK_IDS
    assert {p.origin for p in ruleset.packs} == {"bundled"}
    assert len(ruleset.rules) == len(load_rules(RULES).rules) > 0


def test_a_pack_is_named_by_id(empty_cwd: Path) -> None:
    ruleset = load_rules("zhuti-zeren-2020", "dangnei-jiandu-2016")
    assert sorted(p.id for p in ruleset.packs) == ["dangnei-jiandu-2016", "zhuti-zeren-2020"]
    assert {p.origin for p in ruleset.packs} == {"bundled"}
    with pytest.raises(RulesError) as caught:
        load_rules("zhuti-zeren-202")
    (problem,) = caught.value.problems
    assert problem.code == "pack.unknown" and "zhuti-zeren-2020" in problem.hint


def test_a_pack_loaded_by_path_says_so(rules_copy: Path) -> None:
    pack = load_rules(rules_copy / "zhuti-zeren-2020").packs[0]
    assert pack.origin == pack.root and pack.origin.endswith("zhuti-zeren-2020")


def test_cli_without_rules_folder_uses_the_bundled_packs(empty_cwd: Path, capsys) -> None:
    assert main(EVALUATE) == 1  # violations found, as in the repository
    out = capsys.readouterr().out
    assert "违反" in out or "violated" in out
    assert main(["lint"]) == 0
    assert f"OK: {len(PACK_IDS)} 个规则包 packs" in capsys.readouterr().out
    assert main(["explain", "ZZ-DW-01"]) == 0
    assert "ZZ-DW-01" in capsys.readouterr().out
    assert main(["explain", "ZZ-DW-01", "--rules", "zhuti-zeren-2020"]) == 0


def test_a_rules_folder_without_rule_files_does_not_hide_the_installed_packs(empty_cwd: Path, capsys) -> None:
    (empty_cwd / "rules" / "notes").mkdir(parents=True)  # e.g. an empty folder, or one of something else
    (empty_cwd / "rules" / "README.md").write_text("规则说明\n", encoding="utf-8")
    assert main(["packs", "--format", "json"]) == 0
    assert {r["origin"] for r in json.loads(capsys.readouterr().out)} == {"bundled"}
    assert main(EVALUATE) == 1
    (empty_cwd / "rules" / "notes" / "draft.yaml").write_text("rules: []\n", encoding="utf-8")
    assert main(EVALUATE) == 2  # a rule file there is read, and refused with its location: never skipped
    assert "draft.yaml" in capsys.readouterr().err


def test_packs_lists_what_is_seen_and_where_from(empty_cwd: Path, capsys) -> None:
    assert main(["packs"]) == 0
    out = capsys.readouterr().out
    for pack_id in PACK_IDS:
        assert any(line.split()[0] == pack_id and "bundled" in line for line in out.splitlines() if line.strip())
    assert main(["packs", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = {p.id: len(p.rules) for p in load_rules(RULES).packs}
    assert {r["id"]: r["rules"] for r in rows} == expected
    assert {r["origin"] for r in rows} == {"bundled"} and all(r["used_by_default"] for r in rows)
    assert next(r for r in rows if r["id"] == "mouxian-shishi-2024")["overlay_of"] == "zhuti-zeren-2020"


def test_packs_lists_a_local_rules_folder_before_the_installed_packs(rules_copy: Path, monkeypatch, capsys) -> None:
    shutil.rmtree(rules_copy / "mouxian-shishi-2024")
    monkeypatch.chdir(rules_copy.parent)
    assert main(["packs", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    local = [r for r in rows if r["used_by_default"]]
    assert len(local) == len(PACK_IDS) - 1 and all(r["origin"].startswith("rules") for r in local)
    assert sorted(r["id"] for r in rows if not r["used_by_default"]) == PACK_IDS


# ------------------------------------------------------------------ nothing passed over


def test_a_folder_without_a_pack_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no rules here\n", encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path)
    assert _codes(caught.value.problems) == ["pack.none"]
    assert main(["lint", str(tmp_path)]) == 1
    assert main([*EVALUATE, "--rules", str(tmp_path)]) == 2


def test_manifest_named_pack_yml_is_read(rules_copy: Path, capsys) -> None:
    (rules_copy / "zhuti-zeren-2020" / "pack.yaml").rename(rules_copy / "zhuti-zeren-2020" / "pack.yml")
    assert lint(rules_copy) == []
    assert sorted(p.id for p in load_rules(rules_copy).packs) == PACK_IDS
    assert _outcome(load_rules(rules_copy)) == _outcome(load_rules(RULES))
    assert main(["lint", str(rules_copy)]) == 0
    assert f"OK: {len(PACK_IDS)} 个规则包 packs" in capsys.readouterr().out
    assert main([*EVALUATE, "--rules", str(rules_copy)]) == 1


def test_two_manifests_in_one_folder_are_refused(rules_copy: Path) -> None:
    shutil.copy(rules_copy / "zhuti-zeren-2020" / "pack.yaml", rules_copy / "zhuti-zeren-2020" / "pack.yml")
    assert "pack.two_manifests" in _codes(lint(rules_copy))


@pytest.mark.parametrize("name", ["pack.json", "Pack.yaml", "pack.YAML"])
def test_a_misnamed_manifest_is_a_located_error(rules_copy: Path, name: str) -> None:
    folder = rules_copy / "mouxian-shishi-2024"  # an overlay: its manifest is all it has
    (folder / "pack.yaml").rename(folder / name)
    problems = lint(rules_copy)
    assert any(p.code == "pack.manifest_name" and p.location.file.endswith(name) for p in problems)
    assert main(["lint", str(rules_copy)]) == 1
    assert main([*EVALUATE, "--rules", str(rules_copy)]) == 2


def test_yaml_outside_any_pack_is_a_located_error(rules_copy: Path) -> None:
    stray = rules_copy / "draft-2025" / "rules.yaml"
    stray.parent.mkdir()
    shutil.copy(rules_copy / "zhibu-gongzuo-2018" / "jiang-dangke.yaml", stray)
    (problem,) = lint(rules_copy)
    assert problem.code == "pack.no_manifest" and problem.location.file.endswith("draft-2025/rules.yaml")
    assert main([*EVALUATE, "--rules", str(rules_copy)]) == 2
    assert main(["lint", str(rules_copy)]) == 1


def test_hidden_folders_are_not_rules(rules_copy: Path) -> None:
    (rules_copy / ".github" / "workflows").mkdir(parents=True)
    (rules_copy / ".github" / "workflows" / "ci.yml").write_text("on: push\n", encoding="utf-8")
    assert lint(rules_copy) == []


def _chmod_stops_reads(path: Path) -> bool:
    """chmod 000 and say whether reading now fails (it does not for root, who reads through it)."""
    path.chmod(0)
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            path.read_bytes()
    except PermissionError:
        return True
    path.chmod(0o755)
    return False


def test_an_unreadable_pack_folder_is_a_located_error(rules_copy: Path) -> None:
    folder = rules_copy / "zhuti-zeren-2020"
    if not _chmod_stops_reads(folder):
        pytest.skip("chmod 000 does not stop reads here (root): the monkeypatched twin below covers this")
    try:
        problems = lint(rules_copy)
        assert any(p.code == "file.unreadable" and p.location.file.endswith("zhuti-zeren-2020") for p in problems)
        assert main([*EVALUATE, "--rules", str(rules_copy)]) == 2
    finally:
        folder.chmod(0o755)


def test_an_unreadable_pack_folder_is_a_located_error_even_as_root(rules_copy: Path, monkeypatch) -> None:
    folder = rules_copy / "zhuti-zeren-2020"
    real_scandir = os.scandir

    def scandir(path=".") -> object:
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    problems = lint(rules_copy)
    unreadable = [p for p in problems if p.code == "file.unreadable"]
    assert len(unreadable) == 1 and unreadable[0].location.file.endswith("zhuti-zeren-2020")
    assert "Permission denied" in unreadable[0].message
    assert main(["lint", str(rules_copy)]) == 1
    assert main([*EVALUATE, "--rules", str(rules_copy)]) == 2


def test_an_unreadable_rule_file_is_a_located_error(rules_copy: Path, monkeypatch) -> None:
    target = rules_copy / "zhuti-zeren-2020" / "committee.yaml"
    if not _chmod_stops_reads(target):  # root reads through chmod 000: fail the read as it would for others
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self == target:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    try:
        problems = lint(rules_copy)
        assert any(p.code == "file.unreadable" and p.location.file.endswith("committee.yaml") for p in problems)
        assert main([*EVALUATE, "--rules", str(rules_copy)]) == 2
    finally:
        target.chmod(0o644)


# ------------------------------------------------------------------ one cause, reported once


def test_a_rule_file_that_fails_to_load_is_reported_once(rules_copy: Path) -> None:
    team = rules_copy / "zhuti-zeren-2020" / "article-08-team.yaml"  # ZZ-YG-01..03, read by both escalations
    team.write_text(team.read_text(encoding="utf-8").replace("citation:", "citaton:", 1), encoding="utf-8")
    problems = lint(rules_copy)
    assert problems and all(p.location.file.endswith("article-08-team.yaml") for p in problems), problems
    assert "rule.unknown_key" in _codes(problems)


def test_an_unparsable_rule_file_is_reported_once(rules_copy: Path) -> None:
    team = rules_copy / "zhuti-zeren-2020" / "article-08-team.yaml"
    team.write_text("rules: [\n", encoding="utf-8")
    problems = lint(rules_copy)
    assert problems and all(p.location.file.endswith("article-08-team.yaml") for p in problems), problems


def test_an_overlay_of_a_base_whose_manifest_fails_is_not_reported_again(rules_copy: Path) -> None:
    manifest = rules_copy / "zhuti-zeren-2020" / "pack.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("version: 1.0.0", "version: one"), "utf-8")
    problems = lint(rules_copy)
    assert problems and all(p.location.file.endswith("zhuti-zeren-2020/pack.yaml") for p in problems), problems


def test_an_escalation_reading_a_rule_nobody_defines_is_still_reported(rules_copy: Path) -> None:
    escalation = rules_copy / "zhuti-zeren-2020" / "escalation.yaml"
    text = escalation.read_text(encoding="utf-8")
    escalation.write_text(text.replace("rules: [ZZ-YG-01, ZZ-YG-02, ZZ-YG-03]", "rules: [ZZ-YG-01, ZZ-YG-09]"), "utf-8")
    problems = lint(rules_copy)
    assert _codes(problems) == ["rule.unknown_rule"] and "ZZ-YG-09" in problems[0].message


def test_two_packs_of_one_id_are_one_problem_naming_both(tmp_path: Path) -> None:
    """An installed copy of a bundled pack (or two folders holding one pack): the cause is reported once,
    not as a duplicate id per rule and false unknown-rule errors from the overlays that extend it."""
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(RULES / "zhuti-zeren-2020", first / "zhuti-zeren-2020")
    shutil.copytree(RULES / "mouxian-shishi-2024", first / "mouxian-shishi-2024")
    shutil.copytree(RULES / "zhuti-zeren-2020", second / "zhuti-zeren-2020")
    manifest = second / "zhuti-zeren-2020" / "pack.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("version: ", "version: 9", 1), "utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(first, second)
    (problem,) = caught.value.problems
    assert problem.code == "pack.duplicate_id"
    assert problem.location.file.endswith("pack.yaml") and "b" in Path(problem.location.file).parts
    assert str(first / "zhuti-zeren-2020") in problem.message_en and "--rules" in problem.hint


# ------------------------------------------------------------------ rule files read again


def test_a_rule_file_changed_between_two_loads_is_read_as_it_is_now(
    rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process keeps the documents of the rule files it parsed (by name and bytes): a file rewritten at once with
    text of the same length is still read anew; the files left as they were are not parsed again."""
    from rules_engine.load import yamlpos

    parsed: list[str] = []
    parse = yamlpos.parse_yaml
    monkeypatch.setattr(yamlpos, "parse_yaml", lambda text, name: parsed.append(name) or parse(text, name))
    path = next(p for p in sorted(rules_copy.rglob("*.yaml")) if p.name not in ("pack.yaml", "pack.yml"))
    text = path.read_text(encoding="utf-8")
    first = load_rules(rules_copy)
    rule = next(r for r in first.rules if r.location.file.endswith(path.name))
    changed = text.replace(f"id: {rule.rule.id}", f"id: {rule.rule.id[:-1]}X", 1)
    assert changed != text and len(changed) == len(text)
    path.write_text(changed, encoding="utf-8")
    parsed.clear()
    second = load_rules(rules_copy)
    assert [Path(p).name for p in parsed] == [path.name]  # only the changed file parsed
    ids = {r.rule.id for r in second.rules}
    assert f"{rule.rule.id[:-1]}X" in ids and rule.rule.id not in ids
    path.write_text(text, encoding="utf-8")
    parsed.clear()
    assert {r.rule.id for r in load_rules(rules_copy).rules} == {r.rule.id for r in first.rules}
    assert parsed == []  # (the file as it first was: its document kept)
