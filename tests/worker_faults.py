"""Stand-ins for a worker process's entry point, imported by name in a spawned child (keep this module light)."""

from __future__ import annotations

import os
from multiprocessing.connection import Connection


def die_after_setup(conn: Connection) -> None:
    """A worker that takes its setup and then dies, as one killed by the system would (no message back)."""
    conn.recv_bytes()
    os._exit(7)
