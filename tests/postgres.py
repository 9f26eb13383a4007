"""A throwaway PostgreSQL server for the findings store's tests (docs/history.md, "Testing on PostgreSQL").

The session fixture ``postgresql`` starts one server for the whole run, when the PostgreSQL server programs
(``initdb``, ``pg_ctl``) are on PATH or in Debian's ``/usr/lib/postgresql/<version>/bin`` and the driver
(psycopg 3, the ``postgres`` extra) is installed: a new cluster in a temporary folder, on a free localhost
port with its Unix socket in that folder, trust authentication for local connections only, no fsync (the
data are thrown away). ``initdb`` refuses to run as root: a root process runs the server programs as the
system user ``postgres`` when there is one, else as ``nobody`` (subprocess's ``user=``). The server is stopped
and its folder removed when the session ends.

Instead of starting one, ``RULES_ENGINE_TEST_POSTGRES_URL`` names a server to use (a URL of a database whose
user may create databases). Without a server, every PostgreSQL test is skipped with the reason; with
``RULES_ENGINE_REQUIRE_POSTGRES=1`` (CI, where the server is installed) the reason is an error instead.

Each test gets its own database (``Server.new_database``), dropped after the test.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ENV_URL = "RULES_ENGINE_TEST_POSTGRES_URL"
ENV_REQUIRE = "RULES_ENGINE_REQUIRE_POSTGRES"
SUPERUSER = "rules_engine"
START_SECONDS = 60


@dataclass
class Server:
    """A PostgreSQL server the tests may create databases on; `url`: its first database, made for the session."""

    admin_url: str  # a database to connect to for CREATE/DROP DATABASE
    url: str
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(_libpq(self.admin_url), autocommit=True)

    def new_database(self) -> str:
        """A new empty database; its SQLAlchemy URL (postgresql+psycopg://)."""
        name = f"rules_engine_test_{os.getpid()}_{next(self._numbers)}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return _with_database(self.admin_url, name)

    def copy_database(self, url: str) -> str:
        """A new database made from the database `url` (which must have no open connection); its URL."""
        from sqlalchemy.engine import make_url

        name = f"rules_engine_test_{os.getpid()}_{next(self._numbers)}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"')
        return _with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (no +driver)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def server_programs() -> tuple[Path, Path] | str:
    """(initdb, pg_ctl), or why not: on PATH first, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = [shutil.which("initdb"), shutil.which("pg_ctl")]
    if all(found):
        return Path(str(found[0])), Path(str(found[1]))
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        initdb, pg_ctl = Path(folder, "initdb"), Path(folder, "pg_ctl")
        if initdb.is_file() and pg_ctl.is_file():
            return initdb, pg_ctl
    return (
        "PostgreSQL server programs not found (initdb and pg_ctl neither on PATH nor in "
        f"/usr/lib/postgresql/*/bin): install PostgreSQL (Debian: apt-get install postgresql), or set {ENV_URL}"
    )


def _version(folder: str) -> tuple[int, ...]:
    part = Path(folder).parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def _run_as() -> dict[str, Any] | str:
    """subprocess keyword arguments that run a server program as an unprivileged user when this process is
    root (initdb refuses root); {} when it is not root; or why no such user exists."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return "running as root, and neither the user 'postgres' nor 'nobody' exists to run initdb as"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _failed(what: str, done: subprocess.CompletedProcess[str]) -> str:
    output = (done.stderr or done.stdout or "").strip().splitlines()
    return f"{what} failed (exit {done.returncode}): {' | '.join(output[-5:])}"


@contextlib.contextmanager
def started_server() -> Iterator[Server | str]:
    """A started throwaway server, stopped and removed on leaving; or why it cannot be started."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg (PostgreSQL driver) not installed: pip install -e '.[dev]' or '.[postgres]'"
        return
    programs = server_programs()
    if isinstance(programs, str):
        yield programs
        return
    initdb, pg_ctl = programs
    run_as = _run_as()
    if isinstance(run_as, str):
        yield run_as
        return
    # a short folder of its own (a Unix socket's path is limited to about 100 bytes), not under pytest's
    # base temporary folder, which is private to this user and so closed to the server's user
    root = Path(tempfile.mkdtemp(prefix="rules-engine-pg-"))
    data, log = root / "data", root / "server.log"
    if "user" in run_as:
        os.chown(root, run_as["user"], run_as["group"])
    started = False
    try:
        done = subprocess.run(
            [str(initdb), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            timeout=120,
            **run_as,
        )
        if done.returncode != 0:
            yield _failed("initdb", done)
            return
        port = _free_port()
        options = (
            f"-p {port} -k {shlex.quote(str(root))} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        done = subprocess.run(
            [str(pg_ctl), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", str(START_SECONDS), "start"],
            capture_output=True,
            text=True,
            timeout=START_SECONDS + 30,
            **run_as,
        )
        started = done.returncode == 0
        if not started:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            yield _failed("pg_ctl start", done) + f" | {' | '.join(server_log.strip().splitlines()[-3:])}"
            return
        admin = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres"
        server = Server(admin_url=admin, url="")
        server.url = server.new_database()
        yield server
    finally:
        if started:
            subprocess.run(
                [str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=START_SECONDS,
                **run_as,
            )
        shutil.rmtree(root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL 不可用，跳过 not available, skipped: {reason}"
    if os.environ.get(ENV_REQUIRE, "") not in ("", "0"):
        pytest.fail(f"{message} ({ENV_REQUIRE} is set)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgresql() -> Iterator[Server]:
    """A PostgreSQL server for the session (see the module's docstring); skips its tests when there is none."""
    given = os.environ.get(ENV_URL)
    if given:
        server = Server(admin_url=given, url="")
        server.url = server.new_database()
        yield server
        server.drop_database(server.url)
        return
    with started_server() as server:
        if isinstance(server, str):
            _unavailable(server)
        else:
            yield server


@pytest.fixture
def postgresql_url(postgresql: Server) -> Iterator[str]:
    """A new empty database of the session's server, for one test; dropped after it."""
    url = postgresql.new_database()
    yield url
    postgresql.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty findings store: a SQLite file that does not exist yet, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    return str(request.getfixturevalue("postgresql_url"))


class StoreTemplates:
    """Findings stores filled once per backend by `fill` (for a module), and a copy of one for each test, which
    may change its copy: a SQLite file copied, a PostgreSQL database made with the filled one as its template.
    The same content as filling a new store for each test, without recording the same runs again each time."""

    def __init__(self, fill: Callable[[str], None], folder: Path) -> None:
        self.fill = fill
        self.folder = folder
        self.filled: dict[str, str] = {}
        self.server: Server | None = None

    def copy(self, request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
        if backend == "sqlite":
            source = self.filled.get(backend)
            if source is None:
                source = self.filled[backend] = str(self.folder / "history.db")
                self.fill(source)
            for path in self.folder.glob("history.db*"):  # (with any WAL files left, there should be none)
                shutil.copyfile(path, tmp_path / path.name)
            return str(tmp_path / "history.db")
        self.server = server = request.getfixturevalue("postgresql")
        source = self.filled.get(backend)
        if source is None:
            source = self.filled[backend] = server.new_database()
            self.fill(source)
        return server.copy_database(source)

    def drop(self) -> None:
        if self.server is not None and "postgresql" in self.filled:
            self.server.drop_database(self.filled["postgresql"])


@contextlib.contextmanager
def copied_store(request: pytest.FixtureRequest, templates: StoreTemplates, tmp_path: Path) -> Iterator[str]:
    """A copy of the filled store of the backend `request.param` ("sqlite" or "postgresql"), for one test."""
    url = templates.copy(request, request.param, tmp_path)
    try:
        yield url
    finally:
        if request.param == "postgresql" and templates.server is not None:
            templates.server.drop_database(url)
