"""Pausing the cyclic garbage collector while millions of short-lived, acyclic objects are made: the
evaluation and the report writers share this, so it sits below both."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The evaluation allocates millions of small objects and no reference cycles: the cyclic garbage
    collector would rescan them again and again (superlinear time). Pause it, and restore its state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
