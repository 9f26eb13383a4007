"""rules_engine: check Party committees' primary-responsibility duties against activity records.

Five-line use::

    import rules_engine as re_
    rules = re_.load_rules("rules/")
    report = re_.evaluate(rules, "roster.yaml", "records.jsonl", period="2024", as_of="2025-01-15")
    for finding in report.violations:
        print(finding.message.zh)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .compile import CompiledRules, compile_rules
from .diagnose import Diagnosis, diagnose, render_diagnosis_table
from .duties import Duty, DutyList, duties, render_duties_table
from .engine import EngineError
from .errors import Error, InputError, Location, MissingExtra, OutputError, PeriodError, Problem, RulesError
from .evaluate import evaluate, evaluate_to
from .impact import Flip, Impact, impact, render_impact_table
from .lint import lint
from .load.inputs import read_roster
from .load.rules import LoadedRule, RulePack, RuleSet, load_rules
from .load.waivers import LoadedWaiver, load_waivers
from .model.findings import Bilingual, Finding, InputAccount, Rejection, Report, Status, SubjectRef
from .model.layout import read_report
from .model.records import ActivityRecord, RecordSource
from .model.roster import Organisation, Person, Post, Roster
from .model.rules import Manifest, Rule, RuleFile, Severity
from .model.scoring import Scoring
from .outcome import DEFAULT_FAIL_ON, Summary, exit_code, parse_fail_on
from .periods import Granularity, Period, parse_period
from .render import render_annotations, render_csv, render_json, render_junit, render_sarif, render_table
from .schema import rule_schema
from .scorecard import ScoreResult, load_scoring, render_score_table, score
from .trace import NullTracer, RecordingTracer, Tracer
from .upcoming import Upcoming, UpcomingList, parse_within, render_upcoming_table, upcoming
from .verify import verify_report
from .workers import WorkerError

__all__ = [
    "DEFAULT_FAIL_ON",
    "ActivityRecord",
    "Bilingual",
    "CompiledRules",
    "Diagnosis",
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
    "WorkerError",
    "__version__",
    "compile_rules",
    "diagnose",
    "duties",
    "evaluate",
    "evaluate_to",
    "exit_code",
    "impact",
    "lint",
    "load_rules",
    "load_scoring",
    "load_waivers",
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
