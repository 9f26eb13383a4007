"""The command line, the closed-loop commands and the pytest-bdd steps are shells over the public API: they
import no underscore name, and the modules they still import that the package does not re-export are the
known ones below (each a piece of the shell's own work that has no public API yet)."""

from __future__ import annotations

import ast
from pathlib import Path

import rules_engine

SRC = Path(rules_engine.__file__).parent
SHELLS = (
    "cli.py",
    "cli_common.py",
    "cli_closed_loop.py",
    "cli_scorecard.py",
    "cli_rectify.py",
    "cli_reports.py",
    "cli_outputs.py",
    "cli_explain.py",
    "cli_history.py",
    "cli_streams.py",
    "cli_draft.py",
    "cli_completion.py",
    "cli_parser.py",
    "command.py",
    "bdd.py",
    "pytest_plugin.py",
)

# module -> names still imported from it by the shells (not re-exported by rules_engine)
KNOWN = {
    "atomic": {"atomic_write", "files_under", "refuse_overwrite", "write_bytes"},  # output files written whole
    "cli_common": {
        "DEFAULT_REPORT_FORMAT",
        "UsageError",
        "fail_on_argument",
        "local_rules",
        "parse_params",
        "rules_paths",
        "shown_statuses",
        "split_inputs",
        "WORKERS_HELP",
        "workers_argument",
        "CLUSTER_HELP",
        "cluster_argument",
    },  # the CLI's own helpers, shared by every shell
    "cli_closed_loop": {"add_commands", "emit", "json_bytes"},  # the closed-loop commands' output helpers
    "cli_rectify": {"RECTIFICATIONS_HELP", "add_commands", "with_rectifications"},  # evaluate --rectifications
    "cli_reports": {"add_commands", "evaluate_report"},
    "cli_outputs": {  # several outputs, filters, the summary view (evaluate and report)
        "Context",
        "add_output_options",
        "check_ids",
        "evaluate_outputs",
        "filters",
        "needs_outputs",
        "note_filters",
        "output_paths",
        "plan_outputs",
        "read_roster_once",
        "require_extras",
        "roster_orgs",
        "scoped",
        "write_all",
    },
    "cli_explain": {"add_finding_options", "explain_finding", "wants_finding"},
    "cli_scorecard": {"add_commands"},
    "cli_serve": {"add_commands"},  # serve, token create, outbox (the monitoring service)
    "cli_history": {"add_commands", "main"},  # history runs|diff|show, started without the rest (command.py)
    "cli_streams": {"EXIT_BROKEN_PIPE", "exit_for", "prepare_streams"},  # UTF-8 streams, a closed pipe
    "cli": {"main"},  # command.py: every command but history
    "coverage": {"coverage_markdown"},
    "errors": {"Error", "did_you_mean"},  # cli_streams: the base error, without importing the whole package
    "guard": {"check_path", "shown"},  # a value cut short for a message; a file name that is not UTF-8
    "render.frames": {"require_parquet", "write_parquet"},  # Parquet, an optional extra
    "render.json": {"render_json"},  # with the header's filter (extra=)
    "render.summary": {"render_summary"},  # the summary view
    "render.terminal": {"ProgressTracer", "is_tty", "progress_tracer", "render_terminal", "use_rich"},  # rich
    "render.html": {"jinja2_module", "render_html"},  # the reports extra
    "render.sections": {"ATTENTION"},  # the statuses a report lists by default
    "render.xlsx": {"render_xlsx", "xlsxwriter_module"},
    "schema": {"KINDS", "schema_text"},  # the schemas `rules-engine schema` can print, as it prints them
    "cli_draft": {"add_commands", "note_drafts"},  # draft, and lint's note on draft rules
    "cli_completion": {"add_command"},  # completion bash|zsh|fish
    "cli_parser": {"Parser", "VERSION"},  # the parser whose texts are Chinese first
    "history": set(),  # `from . import history`: the optional history store, a documented module
    "load.folder": {"ROSTER_NAMES", "Entry", "scan_folder"},  # which files of an input folder are read
    "load.inputs": {"RECORD_SUFFIXES", "WORKBOOK_SUFFIXES", "BadRow", "read_records"},  # explain: records' places
    "cluster": {"ClusterSpec", "parse_cluster"},  # --cluster: the address checked by argparse (Dask not imported)
    "load.rules": {"find_pack"},
    "load.xlsx": {"sheet_kinds"},
    "model.vocab": {"ORG_COLUMNS", "ORG_FIELDS", "PEOPLE_COLUMNS", "RECORD_COLUMNS", "RECORD_FIELDS"},  # bdd tables
    "fields": {"declared_fields"},  # bdd: a table's header names a declared record field by any of its words
    "applies": {"condition_text"},  # explain: an applies_when condition as written
    "provenance": {"number_view", "provenance_lines"},  # explain
    "scaffold": {"new_rule"},
    "texts": {"message"},  # --workers: argparse's own error, worded by its code
}


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in SHELLS:
        for node in ast.walk(ast.parse((SRC / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                module = node.module or ""
                names = {alias.name for alias in node.names}
                if not module and "history" in names:
                    names.discard("history")
                    found.setdefault("history", set())
                found.setdefault(module, set()).update(names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rules_engine"):
                found.setdefault(node.module.removeprefix("rules_engine").lstrip("."), set()).update(
                    alias.name for alias in node.names
                )
    return found


def test_the_shells_import_public_names_and_only_the_known_internals() -> None:
    found = _imports()
    public = found.pop("", set())
    assert public <= set(rules_engine.__all__), public - set(rules_engine.__all__)
    underscored = {f"{m}.{n}" for m, names in found.items() for n in names if n.startswith("_") and n != "__version__"}
    assert not underscored
    assert found == KNOWN


def test_the_public_names_are_importable_from_the_package() -> None:
    for name in rules_engine.__all__:
        assert getattr(rules_engine, name) is not None, name
