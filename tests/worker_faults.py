"""Stand-ins for a worker process's entry point, imported by name in a spawned child (keep this module light)."""

from __future__ import annotations

import os
from multiprocessing.connection import Connection


def die_after_setup(conn: Connection) -> None:
    """A worker that takes its setup and then dies, as one killed by the system would (no message back)."""
    conn.recv_bytes()
    os._exit(7)


def die_at_the_end(conn: Connection) -> None:
    """A worker that takes its setup and every batch of records, then dies before it answers."""
    import pickle

    conn.recv_bytes()
    while pickle.loads(conn.recv_bytes())[0] != "end":  # (kind, file) until the end
        pass
    os._exit(9)


def fail_after_setup(conn: Connection) -> None:
    """A worker that takes its setup, then fails and says why (as a worker whose evaluation raised does), while
    the parent may still be handing it records."""
    import pickle

    conn.recv_bytes()
    conn.send_bytes(pickle.dumps(("error", (None, "Traceback: the spool's disk is full")), pickle.HIGHEST_PROTOCOL))
    conn.close()
    os._exit(0)
