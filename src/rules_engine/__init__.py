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
from .duties import Duty, DutyList, duties
from .errors import Error, InputError, Location, MissingExtra, OutputError, PeriodError, Problem, RulesError
from .evaluate import evaluate, evaluate_to
from .load.inputs import read_roster
from .load.rules import LoadedRule, RulePack, RuleSet, lint, load_rules
from .model.findings import Bilingual, Finding, InputAccount, Rejection, Report, Status, SubjectRef
from .model.layout import read_report
from .model.records import ActivityRecord
from .model.roster import Organisation, Person, Post, Roster
from .model.rules import Manifest, Rule, RuleFile, Severity
from .outcome import Summary, exit_code
from .periods import Granularity, Period, parse_period
from .render import render_annotations, render_json, render_junit, render_sarif, render_table
from .schema import rule_schema
from .upcoming import Upcoming, UpcomingList, upcoming

__all__ = [
    "ActivityRecord",
    "Bilingual",
    "CompiledRules",
    "Duty",
    "DutyList",
    "Error",
    "Finding",
    "Granularity",
    "InputAccount",
    "InputError",
    "LoadedRule",
    "Location",
    "Manifest",
    "MissingExtra",
    "Organisation",
    "OutputError",
    "Period",
    "PeriodError",
    "Person",
    "Post",
    "Problem",
    "Rejection",
    "Report",
    "Roster",
    "Rule",
    "RuleFile",
    "RulePack",
    "RuleSet",
    "RulesError",
    "Severity",
    "Status",
    "SubjectRef",
    "Summary",
    "Upcoming",
    "UpcomingList",
    "__version__",
    "compile_rules",
    "duties",
    "evaluate",
    "evaluate_to",
    "exit_code",
    "lint",
    "load_rules",
    "parse_period",
    "read_report",
    "read_roster",
    "render_annotations",
    "render_json",
    "render_junit",
    "render_sarif",
    "render_table",
    "rule_schema",
    "upcoming",
]
