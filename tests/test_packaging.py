"""Acceptance: the library as a user installs it. Build the sdist and, from it, the wheel; install the wheel
into a new virtual environment outside the checkout; run the CLI and a feature folder from empty folders.
A third-party pack, built as its own distribution, is found through the ``rules_engine.packs`` entry point.

No network: builds run without isolation (``build`` and ``setuptools`` come with the dev extras) and pip
installs with ``--no-index --no-deps``. The dependencies (durable-rules compiles from source) are not
installed again: a ``.pth`` file in the new environment points at this environment's site-packages, after
the new environment's own, and every test asserts that ``rules_engine`` is imported from the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLE, ROOT, RULES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the venv layout below is POSIX (bin/)")

SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src", "rules", "tests", "examples", "docs"]
SOURCES += ["benchmarks", ".ci", "CHANGELOG.md"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".venv*", "build", "dist", ".*cache")


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", env=env, timeout=600
    )


def _build(project: Path, out: Path, *what: str) -> None:
    result = _run([sys.executable, "-m", "build", "--no-isolation", *what, "--outdir", out, project], cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist built from a copy of the checkout, and the wheel built from that sdist."""
    work = tmp_path_factory.mktemp("dist")
    project = work / "project"
    project.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=IGNORE)
        elif source.is_file():
            shutil.copy2(source, project / name)
    _build(project, work / "out")  # sdist, then the wheel from the unpacked sdist
    return work / "out"


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel, with this environment's dependencies behind it."""
    env = tmp_path_factory.mktemp("venv") / "venv"
    created = _run([sys.executable, "-m", "venv", "--without-pip", env], cwd=env.parent)
    assert created.returncode == 0, created.stderr
    python = env / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        cwd=env.parent,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env).stdout.strip())
    here = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    (purelib / "zz_test_dependencies.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    where = _run([python, "-c", "import rules_engine; print(rules_engine.__file__)"], cwd=env.parent)
    assert Path(where.stdout.strip()).is_relative_to(env), where.stdout + where.stderr  # not the checkout's
    return env


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    return {**env, **extra}


def test_sdist_holds_what_its_tests_need_and_the_wheel_holds_the_packs(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {"setup.py", "MANIFEST.in", "README.md", "tests/conftest.py", "tests/test_packaging.py"}
    needed |= {"rules/zhuti-zeren-2020/pack.yaml", "examples/county-2024/roster.yaml", "docs/rule-format.md"}
    assert needed <= names, needed - names
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {n.removeprefix("rules_engine/_packs/") for n in archive.namelist() if "/_packs/" in n}
        migrations = {n for n in archive.namelist() if "/history/alembic/" in n}
        history_pack = {n for n in archive.namelist() if "/history/pack/" in n}
        schemas = {n for n in archive.namelist() if n.startswith("rules_engine/schemas/")}
    # the findings store's Alembic migrations, run by the library on first use (rules_engine.history)
    assert {
        "env.py",
        "script.py.mako",
        "versions/r0001_runs_and_findings.py",
        "versions/r0004_compact_findings.py",
        "versions/r0005_monitor.py",
    } <= {n.removeprefix("rules_engine/history/alembic/") for n in migrations}
    # the pack judging the store's overdue rectifications (evaluate --db URL --rectifications)
    assert {n.removeprefix("rules_engine/history/pack/") for n in history_pack} == {
        "zhenggai-yuqi/pack.yaml",
        "zhenggai-yuqi/overdue.yaml",
    }
    # the JSON Schemas the editor modeline of rule files points at (rules_engine.schema.SHIPPED)
    assert schemas == {f"rules_engine/schemas/{kind}.schema.json" for kind in ("rules", "pack", "scoring")}
    shipped = {
        p.relative_to(RULES).as_posix() for p in RULES.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert packed == shipped


@pytest.mark.slow
def test_installed_wheel_evaluates_the_example_with_its_bundled_packs(venv: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    inputs = [EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl"]
    args = [venv / "bin" / "rules-engine", "evaluate", *inputs, "--period", "2024", "--as-of", "2025-01-15"]
    table = _run(args, cwd=empty, env=_clean_env())
    assert table.returncode == 1, table.stdout + table.stderr  # violations found
    report = _run([*args, "--format", "json"], cwd=empty, env=_clean_env())
    assert report.returncode == 1, report.stderr
    data = json.loads(report.stdout)
    assert data["summary"]["violated"] > 0 and not data["input"].get("unknown_types")
    from rules_engine import evaluate, load_rules

    expected = evaluate(load_rules(RULES), *inputs, period="2024", as_of="2025-01-15")
    assert data["summary"] == json.loads(expected.model_dump_json())["summary"]  # the same packs, the same result
    listed = _run([venv / "bin" / "rules-engine", "packs", "--format", "json"], cwd=empty, env=_clean_env())
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["id"] for r in rows) == sorted(p.parent.name for p in RULES.glob("*/pack.yaml"))
    assert {r["origin"] for r in rows} == {"bundled"}
    assert all("/rules_engine/_packs/" in r["root"] for r in rows)  # the wheel's copy, not the checkout


FEATURE = """\
# language: zh-CN
功能: 书记主持专题会议

  场景: 副书记主持而书记只是参加
    假如规则包 "zhuti-zeren-2020"
    并且组织：
      | 编号 | 名称     | 类型     |
      | t1   | 甲镇党委 | 乡镇党委 |
    并且人员：
      | 编号 | 姓名     | 组织 | 职务   | 任职开始   |
      | s1   | 张书记   | t1   | 书记   | 2020-01-01 |
      | d1   | 李副书记 | t1   | 副书记 | 2020-01-01 |
    并且评价日期为 2025-01-15
    并且活动记录：
      | 编号 | 组织 | 类型          | 日期       | 主持人 |
      | r1   | t1   | zhuanti_huiyi | 2024-03-01 | d1     |
    当评价期间 2024-H1
    那么规则 ZZ-08-01 对 s1 在 2024-H1 的结论为 {status}
"""


@pytest.mark.slow
def test_installed_wheel_runs_a_feature_folder_that_names_a_bundled_pack(venv: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\nrules_engine_features = true\n", encoding="utf-8")
    feature = suite / "secretary.feature"
    feature.write_text(FEATURE.format(status="未履行"), encoding="utf-8")
    command = [venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider"]
    passed = _run(command, cwd=suite, env=_clean_env())
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 passed" in passed.stdout
    feature.write_text(FEATURE.format(status="已履行"), encoding="utf-8")
    failed = _run(command, cwd=suite, env=_clean_env())
    assert failed.returncode == 1 and "1 failed" in failed.stdout, failed.stdout + failed.stderr


OVERLAY = """\
format: rules-engine/v1
pack:
  id: henan-shishi-2025
  version: 2.1.0
  title: {zh: 某省实施细则（测试）, en: a province's implementing rules (test)}
  regulation: {id: henan-shishi-2025, document: 《某省实施细则》（测试）}
  effective: {from: 2024-01-01}
overlay:
  extends: zhuti-zeren-2020
  organisations: [twn-qingshan]
  params:
    ZZ-08-06: {at_least: 3}
record_types: {}
"""

PACK_PROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "henan-rule-packs"
version = "2.1.0"

[project.entry-points."rules_engine.packs"]
henan = "henan_rule_packs"

[tool.setuptools]
packages = ["henan_rule_packs"]

[tool.setuptools.package-data]
henan_rule_packs = ["*/*.yaml"]
"""


@pytest.fixture(scope="module")
def pack_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A province's overlay pack as its own distribution, built and installed into a folder of its own."""
    work = tmp_path_factory.mktemp("henan")
    project = work / "project"
    (project / "henan_rule_packs" / "henan-shishi-2025").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PACK_PROJECT, encoding="utf-8")
    (project / "henan_rule_packs" / "__init__.py").write_text('"""Rule packs of a province."""\n', encoding="utf-8")
    (project / "henan_rule_packs" / "henan-shishi-2025" / "pack.yaml").write_text(OVERLAY, encoding="utf-8")
    _build(project, work / "out", "--wheel")
    (wheel,) = (work / "out").glob("*.whl")
    target = work / "site"
    installed = _run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", target, wheel], work
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (target / "henan_rule_packs" / "henan-shishi-2025" / "pack.yaml").is_file()
    return target


@pytest.mark.slow
def test_a_pack_published_through_an_entry_point_is_found(venv: Path, pack_site: Path, tmp_path: Path) -> None:
    env = _clean_env(PYTHONPATH=str(pack_site))
    cli = venv / "bin" / "rules-engine"
    listed = _run([cli, "packs", "--format", "json"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["henan-shishi-2025"]["origin"] == "entry point henan (henan-rule-packs 2.1.0)"
    assert rows["henan-shishi-2025"]["version"] == "2.1.0" and rows["henan-shishi-2025"]["rules"] == 0
    assert rows["zhuti-zeren-2020"]["origin"] == "bundled"
    text = _run([cli, "packs"], cwd=tmp_path, env=env).stdout
    assert "henan-shishi-2025" in text and "entry point henan (henan-rule-packs 2.1.0)" in text
    explained = _run([cli, "explain", "ZZ-08-06"], cwd=tmp_path, env=env)
    assert "henan-shishi-2025@2.1.0" in explained.stdout, explained.stdout + explained.stderr
    by_id = _run(
        [venv / "bin" / "python", "-c", "import rules_engine as r; print(r.load_rules('henan-shishi-2025').packs)"],
        cwd=tmp_path,
        env=env,
    )
    assert "overlay.unknown_base" in by_id.stderr  # named alone, an overlay misses its base: said, not skipped
    both = "import rules_engine as r; s = r.load_rules('henan-shishi-2025', 'zhuti-zeren-2020')\n"
    both += "print([p.origin for p in s.packs])"
    loaded = _run([venv / "bin" / "python", "-c", both], cwd=tmp_path, env=env)
    assert "entry point henan" in loaded.stdout and "bundled" in loaded.stdout, loaded.stderr


def test_a_broken_entry_point_is_reported_not_skipped(venv: Path, tmp_path: Path) -> None:
    info = tmp_path / "site" / "broken_packs-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-packs\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[rules_engine.packs]\nbroken = no_such_package\n", encoding="utf-8")
    result = _run([venv / "bin" / "rules-engine", "packs"], cwd=tmp_path, env=_clean_env(PYTHONPATH=str(info.parent)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pack.entry_point" in result.stderr and "no_such_package" in result.stderr
    assert "entry point broken (broken-packs 1.0)" in result.stderr
