"""Rectification (整改) of violated findings: opened with a deadline and an owner, progressed with notes,
closed with evidence, reopened when a later run still finds the violation; overdue ones as findings.

Every change is an event appended to ``rectification_events`` (who, when, what); nothing is updated in
place. A rectification's state is derived from its events, as of any date.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import store
from .store import Connection, HistoryError, sa

if TYPE_CHECKING:  # imported where used: the rest of the history needs neither pydantic nor the models
    from ..model.records import RecordSource
    from ..periods import Period

VIOLATED = "violated"  # Status.violated's value, as stored (tests/test_history.py checks they agree)

__all__ = [
    "OVERDUE_RULE",
    "OVERDUE_TYPE",
    "PACK",
    "Event",
    "Overdue",
    "Rectification",
    "close_rectification",
    "format_overdue",
    "format_rectifications",
    "open_rectification",
    "overdue",
    "rectification_records",
    "rectifications",
    "update_rectification",
]

Clock = Callable[[], dt.datetime]

OPENED, UPDATED, CLOSED, REOPENED = "opened", "updated", "closed", "reopened"
AUTOMATIC = "rules-engine"  # who reopens: the recording of a run, not a person
MIN_PREFIX = 8  # hex characters of a finding's identity that name it

# The pack whose rules judge overdue rectifications, shipped with this module: ZG-YQ-01 (at most 0 overdue
# rectifications per organisation per half-year) and its escalation ZG-YQ-02. The store's rectifications
# reach it as records of the type OVERDUE_TYPE (rectification_records; evaluate --db URL --rectifications).
PACK = Path(__file__).resolve().parent / "pack" / "zhenggai-yuqi"
OVERDUE_TYPE = "zhenggai_yuqi"

# What `rectify overdue` says of each overdue rectification, as a finding of the pack's rule ZG-YQ-01 (the
# same rule id, title, severity and clause: tests/test_rectify.py checks them against the pack).
OVERDUE_RULE: dict[str, Any] = {
    "rule_id": "ZG-YQ-01",
    "rule_title": {
        "zh": "整改逾期：期间内逾期未完成的整改至多 0 项",
        "en": "Overdue rectifications: none left unfinished past its deadline in the period",
    },
    "pack": "zhenggai-yuqi",
    "severity": "high",
    "clause": {
        "document": "《党委（党组）落实全面从严治党主体责任规定》",
        "article": 8,
        "text": "督导压责：采取“四不两直”等方式开展督查，反馈问题并提出整改要求",
        "label": "第8条",
        "provenance": "local_practice",
        "confidence": "low",
    },
}


@dataclass(frozen=True)
class Event:
    """One change of a rectification: ``opened``, ``updated``, ``closed`` or ``reopened``."""

    id: int
    kind: str
    at: str
    by: str
    deadline: str | None
    owner: str | None
    note: str | None
    records: list[str]
    documents: list[str]
    run_id: int | None


@dataclass(frozen=True)
class Rectification:
    """A rectification and its events; ``state`` (``open``, ``closed`` or ``reopened``), ``deadline``,
    ``owner`` and the evidence are derived from the events (as of a date, when one was given)."""

    id: int
    identity: str
    run_id: int  # the run whose violated finding it rectifies
    rule_id: str
    subject_kind: str
    subject_id: str
    subject_detail: str
    subject_name: str
    organisation_id: str
    organisation_name: str
    window: str
    window_start: str
    window_end: str
    state: str
    deadline: str
    owner: str
    opened_at: str
    opened_by: str
    closed_at: str | None
    records: list[str]
    documents: list[str]
    events: list[Event] = field(default_factory=list)

    def is_overdue(self, as_of: dt.date | str) -> bool:
        """Its deadline passed before `as_of` and it is not closed."""
        return self.state != CLOSED and str(as_of) > self.deadline

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Overdue:
    """An overdue rectification as a finding of the rule ``ZG-YQ-01`` (rectification overdue): violated."""

    rectification: Rectification
    as_of: str

    @property
    def days(self) -> int:
        return (dt.date.fromisoformat(self.as_of) - dt.date.fromisoformat(self.rectification.deadline)).days

    def to_dict(self) -> dict[str, Any]:
        """Shaped like a report's finding (the same key names where they apply)."""
        r = self.rectification
        who = r.subject_name if r.subject_id == r.organisation_id else f"{r.subject_name}（{r.organisation_name}）"
        who_en = r.subject_name if r.subject_id == r.organisation_id else f"{r.subject_name} ({r.organisation_name})"
        return {
            **OVERDUE_RULE,
            "status": VIOLATED,
            "subject": {"kind": r.subject_kind, "id": r.subject_id, "name": r.subject_name, "detail": r.subject_detail},
            "organisation": {"id": r.organisation_id, "name": r.organisation_name},
            "window": {"start": r.window_start, "end": r.window_end, "label": r.window},
            "rectified_rule_id": r.rule_id,
            "finding": r.identity,
            "rectification": r.id,
            "state": r.state,
            "owner": r.owner,
            "deadline": r.deadline,
            "as_of": self.as_of,
            "days_overdue": self.days,
            "expected": {"zh": f"{r.deadline}前完成整改", "en": f"rectified by {r.deadline}"},
            "actual": {
                "zh": f"截至{self.as_of}未完成，逾期{self.days}天",
                "en": f"not rectified as of {self.as_of}, {self.days} day(s) overdue",
            },
            "message": {
                "zh": f"{who} {r.rule_id} {r.window} 的整改 #{r.id} 逾期{self.days}天未完成"
                f"（期限 {r.deadline}，责任人 {r.owner}）",
                "en": f"rectification #{r.id} of {r.rule_id} {r.window} for {who_en} "
                f"is {self.days} day(s) overdue (deadline {r.deadline}, owner {r.owner})",
            },
        }


# ---------------------------------------------------------------------------------------------- writing


def open_rectification(
    db: str | Path | None,
    finding: str,
    *,
    deadline: dt.date | str,
    owner: str,
    note: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
) -> Rectification:
    """Open a rectification of a violated finding: `finding` is its identity (``history show`` and
    ``history diff`` print it) or a prefix of it of at least 8 characters. The finding must be violated in
    the latest run that judged it, with no rectification still open. `deadline` may not be in the past
    (the clock's date); `by`: who (default: the user of this machine)."""
    when, who = _when(clock), _who(by)
    due = _deadline(deadline, when)
    owner = _required(owner, "责任人 owner")
    with store.connect(db, create=False) as conn:
        key = _resolve_finding(conn, finding)
        row = (
            conn.execute(
                store.finding_rows()
                .where(store.finding_keys.c.identity == key)
                .order_by(store.findings.c.run_id.desc())
                .limit(1)
            )
            .mappings()
            .one()
        )
        if row["status"] != VIOLATED:
            raise HistoryError.of(
                "history.rectify.not_violated", run=row["run_id"], status=row["status"], finding=key[:12]
            )
        for existing in _load(conn, store.rectifications.c.identity == key):
            if existing.state != CLOSED:
                raise HistoryError.of("history.rectify.already_open", id=existing.id, finding=key[:12])
        new_id = _insert_rectification(conn, row)
        _append(conn, new_id, OPENED, when, who, deadline=due, owner=owner, note=note)
        return _one(conn, new_id)


def update_rectification(
    db: str | Path | None,
    rectification: int,
    *,
    note: str,
    deadline: dt.date | str | None = None,
    owner: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
) -> Rectification:
    """Record progress on an open (or reopened) rectification: a note, and optionally a new deadline (not in
    the past) or owner."""
    when, who = _when(clock), _who(by)
    text = _required(note, "进展说明 note")
    due = None if deadline is None else _deadline(deadline, when)
    handed = None if owner is None else _required(owner, "责任人 owner")
    with store.connect(db, create=False) as conn:
        current = _current(conn, rectification)
        if current.state == CLOSED:
            raise HistoryError.of("history.rectify.closed", id=rectification)
        _append(conn, current.id, UPDATED, when, who, deadline=due, owner=handed, note=text)
        return _one(conn, current.id)


def close_rectification(
    db: str | Path | None,
    rectification: int,
    *,
    note: str,
    records: Sequence[str] = (),
    documents: Sequence[str] = (),
    by: str | None = None,
    clock: Clock | None = None,
) -> Rectification:
    """Close a rectification with evidence: activity record ids and/or document references (at least one),
    and a note."""
    when, who = _when(clock), _who(by)
    text = _required(note, "整改说明 note")
    ids = [_required(r, "记录编号 record id") for r in records]
    docs = [_required(d, "文件 document") for d in documents]
    if not ids and not docs:
        raise HistoryError.of("history.rectify.no_evidence")
    with store.connect(db, create=False) as conn:
        current = _current(conn, rectification)
        if current.state == CLOSED:
            raise HistoryError.of("history.rectify.already_closed", id=rectification, at=str(current.closed_at))
        _append(conn, current.id, CLOSED, when, who, note=text, evidence={"records": ids, "documents": docs})
        return _one(conn, current.id)


def reopen_still_violated(conn: Connection, run_id: int, as_of: str, at: str) -> list[int]:
    """Reopen every closed rectification whose finding run `run_id` (as of `as_of`) still finds violated,
    the run being as of the day it was closed or later; on the recording's own transaction. Returns the
    ids reopened."""
    r, f = store.rectifications, store.findings
    still = (
        sa.select(store.finding_keys.c.identity)
        .select_from(
            f.join(store.finding_keys, store.finding_keys.c.id == f.c.key_id).join(
                store.finding_states, store.finding_states.c.id == f.c.state_id
            )
        )
        .where(f.c.run_id == run_id, store.finding_states.c.status == VIOLATED)
    )
    reopened: list[int] = []
    for current in _load(conn, r.c.identity.in_(still)):
        if current.state == CLOSED and current.closed_at is not None and as_of >= _day(current.closed_at):
            note = (
                f"运行 run {run_id}（评价日期 as of {as_of}）仍判定未履行，自动重新打开 "
                f"run {run_id} (as of {as_of}) still finds the violation: reopened"
            )
            conn.execute(
                sa.insert(store.rectification_events).values(
                    rectification_id=current.id, kind=REOPENED, at=at, by=AUTOMATIC, note=note, run_id=run_id
                )
            )
            reopened.append(current.id)
    return reopened


def _insert_rectification(conn: Connection, row: sa.RowMapping) -> int:
    key = conn.execute(
        sa.insert(store.rectifications).values(
            identity=row["identity"],
            run_id=row["run_id"],
            rule_id=row["rule_id"],
            subject_kind=row["subject_kind"],
            subject_id=row["subject_id"],
            subject_detail=row["subject_detail"],
            subject_name=row["subject_name"],
            organisation_id=row["organisation_id"],
            organisation_name=row["organisation_name"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            window_label=row["window_label"],
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def _append(
    conn: Connection,
    rectification: int,
    kind: str,
    when: dt.datetime,
    who: str,
    *,
    deadline: str | None = None,
    owner: str | None = None,
    note: str | None = None,
    evidence: dict[str, list[str]] | None = None,
) -> None:
    conn.execute(
        sa.insert(store.rectification_events).values(
            rectification_id=rectification,
            kind=kind,
            at=when.isoformat(timespec="seconds"),
            by=who,
            deadline=deadline,
            owner=owner,
            note=note.strip() if note and note.strip() else None,
            evidence=evidence,
        )
    )


def _when(clock: Clock | None) -> dt.datetime:
    when = (clock or (lambda: dt.datetime.now(dt.timezone.utc)))()
    if when.tzinfo is None:
        raise HistoryError.of("history.clock.naive")
    return when


def _who(by: str | None) -> str:
    if by is not None:
        return _required(by, "操作人 --by")
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        raise HistoryError.of("history.rectify.no_actor") from None


def _required(value: str, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise HistoryError.of("history.rectify.empty", what=what)
    return text


def _deadline(value: dt.date | str, when: dt.datetime) -> str:
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise HistoryError.of("history.rectify.deadline_invalid", value=str(value)) from None
    today = when.date()
    if day < today:
        raise HistoryError.of("history.rectify.deadline_past", day=str(day), today=str(today))
    return day.isoformat()


_HEX = re.compile(r"[0-9a-f]+")


def _resolve_finding(conn: Connection, ref: str) -> str:
    """A finding's full identity from its identity or a prefix of at least 8 hex characters."""
    text = ref.strip().lower()
    if len(text) < MIN_PREFIX or not _HEX.fullmatch(text):
        raise HistoryError.of("history.finding.invalid", ref=ref, least=MIN_PREFIX)
    k = store.finding_keys
    # identities are lowercase hex: a range is a prefix match that uses the index, on any database
    found = (
        conn.execute(sa.select(k.c.identity).where(k.c.identity >= text, k.c.identity < text + "g").limit(2))
        .scalars()
        .all()
    )
    if not found:
        raise HistoryError.of("history.finding.unknown", ref=ref)
    if len(found) > 1:
        raise HistoryError.of("history.finding.ambiguous", ref=ref)
    return str(found[0])


# ---------------------------------------------------------------------------------------------- reading


def rectifications(
    db: str | Path | None = None,
    *,
    subject: str | None = None,
    state: str | None = None,
    as_of: dt.date | str | None = None,
) -> list[Rectification]:
    """The rectifications, oldest first: of a person or organisation (`subject`, as subject or
    organisation), in a `state` (``open``, ``closed``, ``reopened``, or ``overdue`` with `as_of`); as they
    stood at the end of the day `as_of` when given (events after it left out; those opened after it too)."""
    day = _as_of(as_of)
    if state not in (None, "open", CLOSED, REOPENED, "overdue"):
        raise HistoryError.of("history.rectify.state_invalid", state=state)
    if state == "overdue" and day is None:
        raise HistoryError.of("history.rectify.overdue_needs_date")
    r = store.rectifications
    where = sa.true() if subject is None else sa.or_(r.c.subject_id == subject, r.c.organisation_id == subject)
    with store.connect(db, create=False) as conn:
        found = _load(conn, where, day)
    if state == "overdue":
        assert day is not None
        return [x for x in found if x.is_overdue(day)]
    return [x for x in found if state is None or x.state == state]


def overdue(db: str | Path | None = None, *, as_of: dt.date | str) -> list[Overdue]:
    """The rectifications overdue as of `as_of` (deadline passed, not closed by then), as findings of the
    rule ``ZG-YQ-01``."""
    day = _as_of(as_of)
    assert day is not None
    return [Overdue(x, day) for x in rectifications(db, state="overdue", as_of=day)]


def rectification_records(
    db: str | Path | None = None, *, as_of: dt.date | str, period: str | Period | None = None
) -> RecordSource:
    """The rectifications overdue as of `as_of` (deadline passed, not closed by then), as activity records of
    the type ``zhenggai_yuqi`` for an evaluation as of that day, named as coming from the store: add it to the
    records, and the pack :data:`PACK` (or a pack of your own declaring the type) judges them.

    Each record: id ``rectification-N`` (the rectification's number), ``org`` the finding's organisation,
    dated at the deadline, or at the first day of `period` when the deadline is earlier (a rectification
    still overdue is overdue in the period evaluated too), ``tags`` the rule of the rectified finding,
    ``text`` what is overdue, with the owner (a name, not a roster id: not among the participants)."""
    from ..model.records import RecordSource
    from ..periods import parse_period

    day = _as_of(as_of)
    assert day is not None
    start = None
    if period is not None:
        start = (parse_period(period) if isinstance(period, str) else period).start.isoformat()
    records = []
    for r in rectifications(db, state="overdue", as_of=day):
        date = max(r.deadline, start) if start is not None else r.deadline
        records.append(
            {
                "id": f"rectification-{r.id}",
                "org": r.organisation_id,
                "type": OVERDUE_TYPE,
                "date": date,
                "tags": [r.rule_id],
                "text": f"整改 #{r.id} {r.rule_id} {r.window} {_subject(r)}：期限 {r.deadline}，责任人 {r.owner}，"
                f"状态 {r.state} rectification #{r.id}: deadline {r.deadline}, owner {r.owner}, {r.state}",
            }
        )
    return RecordSource(f"<整改 rectifications: {store.given_db(db)} as of {day}>", records)


def about(conn: Connection, subject_id: str) -> list[Rectification]:
    """The rectifications of a person or organisation (for ``history show``), as they stand now."""
    r = store.rectifications
    return _load(conn, sa.or_(r.c.subject_id == subject_id, r.c.organisation_id == subject_id))


def _as_of(value: dt.date | str | None) -> str | None:
    if value is None or isinstance(value, dt.date):
        return None if value is None else value.isoformat()
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise HistoryError.of("history.as_of.invalid", value=str(value)) from None


def _current(conn: Connection, rectification: int) -> Rectification:
    found = _load(conn, store.rectifications.c.id == rectification)
    if not found:
        raise HistoryError.of("history.rectify.unknown", id=rectification)
    return found[0]


def _one(conn: Connection, rectification: int) -> Rectification:
    return _load(conn, store.rectifications.c.id == rectification)[0]


def _day(at: str) -> str:
    return dt.datetime.fromisoformat(at).date().isoformat()


def _load(conn: Connection, where: Any, as_of: str | None = None) -> list[Rectification]:
    r, e = store.rectifications, store.rectification_events
    rows = list(conn.execute(sa.select(r).where(where).order_by(r.c.id)).mappings())
    if not rows:
        return []
    events: dict[int, list[Event]] = {}
    query = sa.select(e).where(e.c.rectification_id.in_(sa.select(r.c.id).where(where))).order_by(e.c.id)
    for ev in conn.execute(query).mappings():
        if as_of is not None and _day(ev["at"]) > as_of:
            continue
        evidence = ev["evidence"] or {}
        events.setdefault(ev["rectification_id"], []).append(
            Event(
                id=ev["id"],
                kind=ev["kind"],
                at=ev["at"],
                by=ev["by"],
                deadline=ev["deadline"],
                owner=ev["owner"],
                note=ev["note"],
                records=list(evidence.get("records", [])),
                documents=list(evidence.get("documents", [])),
                run_id=ev["run_id"],
            )
        )
    return [_derive(row, events[row["id"]]) for row in rows if row["id"] in events]


def _derive(row: sa.RowMapping, events: list[Event]) -> Rectification:
    """The state after the events, in order: the last deadline and owner set, the evidence of the last close."""
    state, deadline, owner = "open", "", ""
    closed_at: str | None = None
    records: list[str] = []
    documents: list[str] = []
    for ev in events:
        deadline = ev.deadline or deadline
        owner = ev.owner or owner
        if ev.kind == CLOSED:
            state, closed_at, records, documents = CLOSED, ev.at, ev.records, ev.documents
        elif ev.kind == REOPENED:
            state = REOPENED
        elif ev.kind == OPENED:
            state = "open"
    first = events[0]
    return Rectification(
        id=row["id"],
        identity=row["identity"],
        run_id=row["run_id"],
        rule_id=row["rule_id"],
        subject_kind=row["subject_kind"],
        subject_id=row["subject_id"],
        subject_detail=row["subject_detail"],
        subject_name=row["subject_name"],
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        window=row["window_label"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        state=state,
        deadline=deadline,
        owner=owner,
        opened_at=first.at,
        opened_by=first.by,
        closed_at=closed_at if state == CLOSED else None,
        records=records,
        documents=documents,
        events=events,
    )


# ---------------------------------------------------------------------------------------------- text

_STATES = {"open": "整改中 open", CLOSED: "已关闭 closed", REOPENED: "重新打开 reopened"}


def _subject(r: Rectification) -> str:
    return r.subject_name + (f" ({r.subject_detail})" if r.subject_detail else "") + f" [{r.subject_id}]"


def format_rectifications(items: Sequence[Rectification], as_of: str | None = None, *, events: bool = False) -> str:
    """The rectifications as text, one line each (overdue ones marked when `as_of` is given); with
    `events`, every event under its rectification."""
    lines = [
        "编号 id  状态 state  期限 deadline  责任人 owner  规则 rule  组织 organisation  对象 subject  期间 window  "
        "结论 finding"
    ]
    for r in items:
        mark = "  逾期 OVERDUE" if as_of is not None and r.is_overdue(as_of) else ""
        lines.append(
            f"#{r.id}  {_STATES.get(r.state, r.state)}  {r.deadline}  {r.owner}  {r.rule_id}  {r.organisation_id}  "
            f"{_subject(r)}  {r.window}  {r.identity[:12]}{mark}"
        )
        if events:
            lines.extend(f"    {_event(ev)}" for ev in r.events)
    if not items:
        lines.append("（无 none）")
    return "\n".join(lines) + "\n"


def _event(ev: Event) -> str:
    parts = [ev.at, ev.kind, f"by {ev.by}"]
    if ev.deadline:
        parts.append(f"期限 deadline {ev.deadline}")
    if ev.owner:
        parts.append(f"责任人 owner {ev.owner}")
    if ev.records:
        parts.append("记录 records " + ", ".join(ev.records))
    if ev.documents:
        parts.append("文件 documents " + ", ".join(ev.documents))
    if ev.run_id is not None:
        parts.append(f"run {ev.run_id}")
    if ev.note:
        parts.append(ev.note)
    return "  ".join(parts)


def format_overdue(items: Sequence[Overdue], as_of: str) -> str:
    """Overdue rectifications as findings of ZG-YQ-01, as text."""
    title = OVERDUE_RULE["rule_title"]
    lines = [f"{OVERDUE_RULE['rule_id']} {title['zh']} {title['en']} (as of {as_of}): {len(items)}"]
    lines.extend(f"  未履行 violated  {o.to_dict()['message']['zh']}" for o in items)
    return "\n".join(lines) + "\n"
