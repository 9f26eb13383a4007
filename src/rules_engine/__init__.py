"""rules_engine: check Party committees' primary-responsibility duties against activity records.

Five-line use::

    import rules_engine as re_
    rules = re_.load_rules("rules/")
    report = re_.evaluate(rules, "roster.yaml", "records.jsonl", period="2024", as_of="2025-01-15")
    for finding in report.violations:
        print(finding.message.zh)
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .compile import CompiledRules, compile_rules
    from .diagnose import Diagnosis, diagnose, render_diagnosis_table
    from .drafting import Drafted, draft_rules
    from .duties import Duty, DutyList, duties, render_duties_table
    from .engine import EngineError
    from .errors import Error, InputError, Location, MissingExtra, OutputError, PeriodError, Problem, RulesError
    from .evaluate import evaluate, evaluate_to
    from .impact import Flip, Impact, impact, render_impact_table
    from .lint import lint
    from .load.inputs import RosterResult, read_roster
    from .load.rules import LoadedRule, RulePack, RuleSet, load_rules
    from .load.waivers import LoadedWaiver, load_waivers
    from .migrate import Migration, migrate_packs
    from .model.findings import Bilingual, Finding, InputAccount, Rejection, Report, Status, SubjectRef
    from .model.layout import read_report
    from .model.records import ActivityRecord, RecordSource
    from .model.roster import Membership, Organisation, Person, Post, Roster
    from .model.rules import Manifest, Rule, RuleFile, Severity
    from .model.scoring import Scoring
    from .model.vocab import Vocabulary
    from .outcome import DEFAULT_FAIL_ON, Summary, exit_code, parse_fail_on
    from .periods import Granularity, Period, parse_period
    from .render import render_annotations, render_csv, render_json, render_junit, render_sarif, render_table
    from .schema import rule_schema
    from .scorecard import ScoreResult, load_scoring, render_score_table, score
    from .trace import NullTracer, RecordingTracer, Tracer
    from .upcoming import Upcoming, UpcomingList, parse_within, render_upcoming_table, upcoming
    from .verify import verify_report
    from .workers import WorkerError

# Each public name and the module it comes from, imported on first use (PEP 562): a command that needs little
# (``rules-engine history ...``) does not pay for importing the evaluation pipeline and every pydantic model.
_EXPORTS = {
    "CompiledRules": ".compile",
    "compile_rules": ".compile",
    "Diagnosis": ".diagnose",
    "diagnose": ".diagnose",
    "render_diagnosis_table": ".diagnose",
    "Duty": ".duties",
    "DutyList": ".duties",
    "duties": ".duties",
    "render_duties_table": ".duties",
    "EngineError": ".engine",
    "Error": ".errors",
    "InputError": ".errors",
    "Location": ".errors",
    "MissingExtra": ".errors",
    "OutputError": ".errors",
    "PeriodError": ".errors",
    "Problem": ".errors",
    "RulesError": ".errors",
    "evaluate": ".evaluate",
    "evaluate_to": ".evaluate",
    "Flip": ".impact",
    "Impact": ".impact",
    "impact": ".impact",
    "render_impact_table": ".impact",
    "Drafted": ".drafting",
    "draft_rules": ".drafting",
    "lint": ".lint",
    "Migration": ".migrate",
    "migrate_packs": ".migrate",
    "RosterResult": ".load.inputs",
    "read_roster": ".load.inputs",
    "LoadedRule": ".load.rules",
    "RulePack": ".load.rules",
    "RuleSet": ".load.rules",
    "load_rules": ".load.rules",
    "LoadedWaiver": ".load.waivers",
    "load_waivers": ".load.waivers",
    "Bilingual": ".model.findings",
    "Finding": ".model.findings",
    "InputAccount": ".model.findings",
    "Rejection": ".model.findings",
    "Report": ".model.findings",
    "Status": ".model.findings",
    "SubjectRef": ".model.findings",
    "read_report": ".model.layout",
    "ActivityRecord": ".model.records",
    "RecordSource": ".model.records",
    "Membership": ".model.roster",
    "Organisation": ".model.roster",
    "Person": ".model.roster",
    "Post": ".model.roster",
    "Roster": ".model.roster",
    "Manifest": ".model.rules",
    "Rule": ".model.rules",
    "RuleFile": ".model.rules",
    "Severity": ".model.rules",
    "Scoring": ".model.scoring",
    "Vocabulary": ".model.vocab",
    "DEFAULT_FAIL_ON": ".outcome",
    "Summary": ".outcome",
    "exit_code": ".outcome",
    "parse_fail_on": ".outcome",
    "Granularity": ".periods",
    "Period": ".periods",
    "parse_period": ".periods",
    "render_annotations": ".render",
    "render_csv": ".render",
    "render_json": ".render",
    "render_junit": ".render",
    "render_sarif": ".render",
    "render_table": ".render",
    "rule_schema": ".schema",
    "ScoreResult": ".scorecard",
    "load_scoring": ".scorecard",
    "render_score_table": ".scorecard",
    "score": ".scorecard",
    "NullTracer": ".trace",
    "RecordingTracer": ".trace",
    "Tracer": ".trace",
    "Upcoming": ".upcoming",
    "UpcomingList": ".upcoming",
    "parse_within": ".upcoming",
    "render_upcoming_table": ".upcoming",
    "upcoming": ".upcoming",
    "verify_report": ".verify",
    "WorkerError": ".workers",
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


class _Package(types.ModuleType):
    """The package, whose functions named like their module (``evaluate``, ``lint``, ``impact``...) stay the
    functions when their module is imported: the import system binds a submodule on its package as it is
    first loaded, which would otherwise put ``rules_engine.evaluate`` (the module) in place of the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == f".{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "DEFAULT_FAIL_ON",
    "ActivityRecord",
    "Bilingual",
    "CompiledRules",
    "Diagnosis",
    "Drafted",
    "Duty",
    "DutyList",
    "EngineError",
    "Error",
    "Finding",
    "Flip",
    "Granularity",
    "Impact",
    "InputAccount",
    "InputError",
    "LoadedRule",
    "LoadedWaiver",
    "Location",
    "Manifest",
    "Membership",
    "Migration",
    "MissingExtra",
    "NullTracer",
    "Organisation",
    "OutputError",
    "Period",
    "PeriodError",
    "Person",
    "Post",
    "Problem",
    "RecordSource",
    "RecordingTracer",
    "Rejection",
    "Report",
    "Roster",
    "RosterResult",
    "Rule",
    "RuleFile",
    "RulePack",
    "RuleSet",
    "RulesError",
    "ScoreResult",
    "Scoring",
    "Severity",
    "Status",
    "SubjectRef",
    "Summary",
    "Tracer",
    "Upcoming",
    "UpcomingList",
    "Vocabulary",
    "WorkerError",
    "__version__",
    "compile_rules",
    "diagnose",
    "draft_rules",
    "duties",
    "evaluate",
    "evaluate_to",
    "exit_code",
    "impact",
    "lint",
    "load_rules",
    "load_scoring",
    "load_waivers",
    "migrate_packs",
    "parse_fail_on",
    "parse_period",
    "parse_within",
    "read_report",
    "read_roster",
    "render_annotations",
    "render_csv",
    "render_diagnosis_table",
    "render_duties_table",
    "render_impact_table",
    "render_json",
    "render_junit",
    "render_sarif",
    "render_score_table",
    "render_table",
    "render_upcoming_table",
    "rule_schema",
    "score",
    "upcoming",
    "verify_report",
]
