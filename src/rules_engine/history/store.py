"""The findings store: where it is (a SQLite file or a database URL), its tables, and its migrations.

SQLAlchemy and Alembic come with the ``history`` extra and are imported here only: the core library does
not need them. The schema is created and upgraded by the Alembic migrations shipped in ``alembic/``
beside this module, run on first use (no ``alembic.ini`` needed). SQLite files are opened in WAL mode with
a busy timeout, every transaction taking the write lock at once (``BEGIN IMMEDIATE``), so that two
processes recording at once both land, one after the other. On PostgreSQL (the ``postgres`` extra, psycopg 3)
every transaction takes a transaction-level advisory lock first, to the same effect: writers (and the first
use's migrations) one after the other, never a half-made schema or a rectification opened twice.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import Error


class HistoryError(Error):
    """The findings store cannot be used: a bad URL, a missing database, an unknown run. Exit 2."""


class MissingExtra(HistoryError, ImportError):
    """SQLAlchemy or Alembic is not installed (``pip install 'duty-rules-engine[history]'``)."""


def _missing(name: str | None) -> MissingExtra:
    return MissingExtra.of("extra.missing#history", library=str(name))


try:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL, Connection, Engine, make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess (tests/test_history.py)
    raise _missing(exc.name) from exc
if importlib.util.find_spec("alembic") is None:  # pragma: no cover - imported only to create or upgrade a store
    raise _missing("alembic")

__all__ = [
    "DEFAULT_DB",
    "ENV_DB",
    "Connection",
    "HistoryError",
    "MissingExtra",
    "api_tokens",
    "connect",
    "finding_keys",
    "finding_rows",
    "finding_states",
    "findings",
    "monitor_changes",
    "monitor_clock",
    "monitor_periods",
    "monitor_rows",
    "outbox",
    "rectification_events",
    "rectifications",
    "resolve_db",
    "run_packs",
    "runs",
    "sa",
    "shown_db",
]

ENV_DB = "RULES_ENGINE_DB"
DEFAULT_DB = "rules-engine.db"
BUSY_SECONDS = 60  # how long a writer waits for another one (SQLite busy timeout)
# the PostgreSQL advisory lock every transaction on the store takes (a constant: "rules-en" in ASCII)
ADVISORY_LOCK = int.from_bytes(b"rules-en", "big") & 0x7FFF_FFFF_FFFF_FFFF
POSTGRES_DRIVER = "postgresql+psycopg"  # postgresql:// means psycopg 3, which the postgres extra installs
MIGRATIONS = Path(__file__).resolve().parent / "alembic"

metadata = sa.MetaData()

# The tables as the latest migration leaves them (the migrations in alembic/versions are the source of the
# schema; these describe it for queries). Dates are ISO text ("2024-07-15"): portable and exact.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=True),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("period", sa.String(64), nullable=False),
    sa.Column("period_start", sa.String(10), nullable=False),
    sa.Column("period_end", sa.String(10), nullable=False),
    sa.Column("library", sa.String(100), nullable=False),
    sa.Column("library_version", sa.String(40), nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("receipt", sa.JSON, nullable=False),
)

run_packs = sa.Table(
    "run_packs",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("pack_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

# A finding is three numbers per run (revision 0004): its duty (finding_keys: what its identity hashes, stored
# once), and its state (finding_states: status, count, names, pack and texts, stored once per distinct state of
# a duty, shared by every run that found it so). A run of a province adds ~155,000 rows of three integers.
finding_keys = sa.Table(
    "finding_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identity", sa.String(64), nullable=False, unique=True),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject_id", sa.String(200), nullable=False),
    sa.Column("subject_detail", sa.String(400), nullable=False),
    sa.Column("organisation_id", sa.String(200), nullable=False),
    sa.Column("window_start", sa.String(10), nullable=False),
    sa.Column("window_end", sa.String(10), nullable=False),
)

finding_states = sa.Table(
    "finding_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.Integer, sa.ForeignKey("finding_keys.id"), nullable=False),
    sa.Column("digest", sa.String(32), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("pack", sa.String(200), nullable=False),
    sa.Column("pack_version", sa.String(64), nullable=False),
    sa.Column("period", sa.String(64), nullable=False),
    sa.Column("window_label", sa.String(64), nullable=False),
    sa.Column("subject_name", sa.String(400), nullable=False),
    sa.Column("organisation_name", sa.String(400), nullable=False),
    sa.Column("expected_zh", sa.Text, nullable=False),
    sa.Column("expected_en", sa.Text, nullable=False),
    sa.Column("actual_zh", sa.Text, nullable=False),
    sa.Column("actual_en", sa.Text, nullable=False),
    sa.Column("message_zh", sa.Text, nullable=False),
    sa.Column("message_en", sa.Text, nullable=False),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key_id", sa.Integer, sa.ForeignKey("finding_keys.id"), primary_key=True),
    sa.Column("state_id", sa.Integer, sa.ForeignKey("finding_states.id"), nullable=False),
    sqlite_with_rowid=False,
)

# The columns of a finding as one row (the names of revisions 0001-0003), for queries that add their own
# where clause on findings, finding_keys and finding_states.
FINDING_COLUMNS = (
    findings.c.run_id,
    finding_keys.c.identity,
    finding_keys.c.rule_id,
    finding_states.c.pack,
    finding_states.c.pack_version,
    finding_keys.c.subject_kind,
    finding_keys.c.subject_id,
    finding_keys.c.subject_detail,
    finding_states.c.subject_name,
    finding_keys.c.organisation_id,
    finding_states.c.organisation_name,
    finding_states.c.period,
    finding_keys.c.window_start,
    finding_keys.c.window_end,
    finding_states.c.window_label,
    finding_states.c.status,
    finding_states.c["count"],
    finding_states.c.message_zh,
)


def finding_rows() -> Any:
    """SELECT every finding whole (run, identity, rule, subject, organisation, window, status, count, message)."""
    joined = findings.join(finding_keys, finding_keys.c.id == findings.c.key_id).join(
        finding_states, finding_states.c.id == findings.c.state_id
    )
    return sa.select(*FINDING_COLUMNS).select_from(joined)


rectifications = sa.Table(
    "rectifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject_id", sa.String(200), nullable=False),
    sa.Column("subject_detail", sa.String(400), nullable=False),
    sa.Column("subject_name", sa.String(400), nullable=False),
    sa.Column("organisation_id", sa.String(200), nullable=False),
    sa.Column("organisation_name", sa.String(400), nullable=False),
    sa.Column("window_start", sa.String(10), nullable=False),
    sa.Column("window_end", sa.String(10), nullable=False),
    sa.Column("window_label", sa.String(64), nullable=False),
)

# The monitoring service (revision 0005; rules_engine.monitor.journal, rules_engine.monitor.tokens)
monitor_rows = sa.Table(
    "monitor_rows",
    metadata,
    sa.Column("period", sa.String(64), primary_key=True),  # (revision 0006: numbered within its period)
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("source", sa.String(400), nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("record_id", sa.String(400), nullable=True),
    sa.Column("organisation_id", sa.String(200), nullable=True),
)

monitor_changes = sa.Table(
    "monitor_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("organisation_id", sa.String(200), nullable=False),
    sa.Column("duty", sa.String(64), nullable=False),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("subject_id", sa.String(200), nullable=False),
    sa.Column("window_end", sa.String(10), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("required", sa.Integer, nullable=False),
    sa.Column("before", sa.String(10), nullable=True),
    sa.Column("after", sa.String(10), nullable=False),
    sa.Column("period", sa.String(64), nullable=False),
)

monitor_clock = sa.Table(
    "monitor_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("period", sa.String(64), nullable=False),
)

# Each period the service has monitored (revision 0006): opened when it starts or moves on, closed when its clock
# passes the period's end (the next one opened in the same transaction)
monitor_periods = sa.Table(
    "monitor_periods",
    metadata,
    sa.Column("label", sa.String(64), primary_key=True),
    sa.Column("start", sa.String(10), nullable=False),
    sa.Column("end", sa.String(10), nullable=False),
    sa.Column("opened_at", sa.String(40), nullable=False),
    sa.Column("closed_at", sa.String(40), nullable=True),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("organisation_id", sa.String(200), nullable=False),
    sa.Column("duty", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("delivered_at", sa.String(40), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", sa.Float, nullable=False),  # (seconds since the epoch: when to try again)
    sa.Column("last_error", sa.Text, nullable=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("organisation_id", sa.String(200), nullable=False),
    sa.Column("can_write", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40), nullable=True),  # (revision 0006; null: in force)
)

rectification_events = sa.Table(
    "rectification_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rectification_id", sa.Integer, sa.ForeignKey("rectifications.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("deadline", sa.String(10), nullable=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=True),
)

# The tables each shipped revision leaves (besides alembic_version): a database at a revision we know, with
# these tables, is a rules-engine store; anything else is refused, never migrated (see _refusal). A new
# migration adds its revision here (tests/test_rectify.py checks that every shipped revision is listed).
REVISION_TABLES = {
    "0001": frozenset({"runs", "run_packs", "findings"}),
    "0002": frozenset({"runs", "run_packs", "findings", "rectifications", "rectification_events"}),
    "0003": frozenset({"runs", "run_packs", "findings", "rectifications", "rectification_events"}),
    "0004": frozenset(
        {"runs", "run_packs", "findings", "finding_keys", "finding_states", "rectifications", "rectification_events"}
    ),
    "0005": frozenset(
        {
            "runs",
            "run_packs",
            "findings",
            "finding_keys",
            "finding_states",
            "rectifications",
            "rectification_events",
            "monitor_rows",
            "monitor_changes",
            "monitor_clock",
            "outbox",
            "api_tokens",
        }
    ),
}
REVISION_TABLES["0006"] = REVISION_TABLES["0005"] | {"monitor_periods"}


HEAD = max(REVISION_TABLES)  # the latest revision shipped (tests/test_rectify.py checks it is Alembic's head)


def resolve_db(db: str | Path | None = None) -> str:
    """The store's URL: `db` (a URL such as ``postgresql://...`` or a file path), else the environment
    variable ``RULES_ENGINE_DB``, else ``./rules-engine.db``. A file path becomes a ``sqlite:///`` URL;
    ``postgresql://`` (or ``postgres://``) without a driver means psycopg 3 (``postgresql+psycopg://``)."""
    raw = str(db) if db is not None else os.environ.get(ENV_DB) or DEFAULT_DB
    if not raw.strip():
        raise HistoryError.of("history.db.empty_url")
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser().absolute())).render_as_string()
    try:
        url = make_url(raw)
    except ArgumentError:
        raise HistoryError.of("history.db.invalid_url", url=raw) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername=POSTGRES_DRIVER)
    return url.render_as_string(hide_password=False)


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def given_db(db: str | Path | None = None) -> str:
    """The store as the caller named it, for a report's input list: a file path as given (else
    ``$RULES_ENGINE_DB``, else ``rules-engine.db``), a URL with its password hidden."""
    raw = str(db) if db is not None else os.environ.get(ENV_DB) or DEFAULT_DB
    return raw if "://" not in raw else shown_db(raw)


def shown_db(db: str | Path | None = None) -> str:
    """The store's URL as it may be printed: the password hidden."""
    return _shown(resolve_db(db))


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def connect(db: str | Path | None, *, create: bool) -> Iterator[Connection]:
    """One transaction on the store, committed when the block ends and rolled back if it raises. The schema
    is brought up to date first. `create`: make the SQLite file when it does not exist (recording); else
    a missing file is an error (reading a history that is not there)."""
    url = resolve_db(db)
    parsed = make_url(url)
    path = _sqlite_file(parsed)
    if path is not None:
        if not create and not path.exists():
            raise HistoryError.of("history.db.not_found", path=str(path))
        if not path.parent.is_dir():
            raise HistoryError.of("history.db.no_folder", path=str(path.parent))
        _check_sqlite_file(path)  # before the engine opens it: switching to WAL would already change the file
    try:
        engine = _engine(url, parsed)
    except (ArgumentError, ImportError) as exc:  # an unknown dialect, a driver not installed
        hint = ""
        if isinstance(exc, ImportError) and parsed.get_backend_name() == "postgresql":
            hint = " (pip install 'duty-rules-engine[postgres]')"
        raise HistoryError.of("history.db.unusable", url=_shown(url), error=str(exc), hint=hint) from None
    try:
        try:
            with engine.begin() as conn:  # the upgrade in its own transaction, under the write lock
                _lock(conn)
                _upgrade(conn)
            with engine.begin() as conn:
                _lock(conn)
                yield conn
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise HistoryError.of("history.db.error", url=_shown(url), reason=reason) from exc
    finally:
        engine.dispose()


def _lock(conn: Connection) -> None:
    """On PostgreSQL, wait for the store's advisory lock, held until the transaction ends (SQLite takes its
    write lock as the transaction begins, see _engine)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


def _engine(url: str, parsed: URL, pooled: bool = False) -> Engine:
    """The store's engine: a connection per transaction (`pooled`: on SQLite, connections kept open and used by
    one transaction at a time, from any thread, for a long-running process that writes often)."""
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    if pooled:
        engine = sa.create_engine(
            url,
            connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False},
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=8,
        )
    else:
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS}, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        _wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now: no deadlock between two upgrading readers

    return engine


def _wal(cursor: Any) -> None:
    """Switch the file to write-ahead logging (it stays so). The switch needs the file to itself, and SQLite
    answers "database is locked" at once, without its busy handler, while another process holds it (two
    recorders opening a new file together): retry until the busy timeout."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a SQLite file that is not a rules-engine store (or not a SQLite database at all), reading it
    through a read-only connection that changes nothing."""
    if not path.exists() or path.stat().st_size == 0:
        return  # a new store
    try:
        reader = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS)
        try:
            tables = {r[0] for r in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            versions = []
            if "alembic_version" in tables:
                versions = [str(r[0]) for r in reader.execute("SELECT version_num FROM alembic_version")]
        finally:
            reader.close()
    except sqlite3.DatabaseError as exc:
        raise HistoryError.of("history.db.not_sqlite", path=str(path), error=str(exc)) from None
    refusal = _refusal(tables, versions, str(path))
    if refusal:
        raise refusal


def _refusal(tables: set[str], versions: list[str], where: str) -> HistoryError | None:
    """Why the database holding `tables` at the Alembic revision(s) `versions` is not a rules-engine store
    that may be upgraded; None when it is one, or empty."""
    tables = {t for t in tables if not t.startswith("sqlite_")}
    if not tables or (tables == {"alembic_version"} and not versions):
        return None
    if "alembic_version" not in tables:
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        return HistoryError.of("history.db.foreign", where=where, tables=listed)
    if len(versions) != 1 or versions[0] not in REVISION_TABLES:
        shown = ", ".join(versions) or "none"
        return HistoryError.of("history.db.unknown_version", versions=shown, where=where)
    missing = REVISION_TABLES[versions[0]] - tables
    if missing:
        return HistoryError.of(
            "history.db.foreign#missing_tables", where=where, version=versions[0], tables=", ".join(sorted(missing))
        )
    return None


def _upgrade(conn: Connection) -> None:
    """Run the shipped Alembic migrations up to the latest one, on this connection's transaction, once the
    database is known to be a rules-engine store (or empty)."""
    tables = set(sa.inspect(conn).get_table_names())
    versions: list[str] = []
    if "alembic_version" in tables:
        versions = [str(v) for v in conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()]
    refusal = _refusal(tables, versions, _shown(conn.engine.url.render_as_string(hide_password=False)))
    if refusal:
        raise refusal
    if versions == [HEAD]:
        return  # up to date: Alembic not imported nor started (most of a small command's time)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
