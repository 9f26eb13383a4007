"""Stage traces of a run: which stage took how long, used how much memory, and handled how many items.

A run tells its tracer when each stage starts and ends (``start(name)``, ``end(name, counts)``); stages nest
(``read`` inside ``intake``). The stages call :meth:`Tracer.stage`::

    with tracer.stage("plan") as stage:
        obligations = plan(...)
        stage.count(obligations=len(obligations))

- :class:`NullTracer` (the default of :func:`rules_engine.evaluate`) does nothing, at near-zero cost.
- :class:`RecordingTracer` keeps the events with the wall time (``time.perf_counter``), the process's CPU
  time and its peak resident memory (``resource.getrusage``) at each end, and shows them as a table
  (:meth:`~RecordingTracer.table`) or as JSON (:meth:`~RecordingTracer.to_json`); both views add up the
  stages entered more than once at the same place (``escalate``, once per organisation).
- Another tracer (an adapter to a host's telemetry): subclass :class:`Tracer`, override ``start`` and ``end``.

The stages of ``evaluate`` and ``evaluate_to`` (:data:`STAGES` names them in Chinese):
``evaluate`` > ``rules``, ``roster``, ``plan``, ``intake`` (> ``index``, ``read``), ``triggers``, ``waivers``,
``group``, ``decide`` (> ``escalate``), ``receipt``, ``findings`` (``evaluate_to``: with the writing); the
command line adds ``rules`` (loading and compiling) before and ``render`` after.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .render.text import table_lines

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no peak memory
    resource = None  # type: ignore[assignment]

__all__ = ["STAGES", "Event", "NullTracer", "RecordingTracer", "Stage", "StageTotal", "Tracer"]

STAGES: dict[str, str] = {
    "evaluate": "评价",
    "rules": "规则加载与编译",
    "roster": "名册",
    "plan": "义务计划",
    "intake": "记录读入",
    "index": "索引",
    "read": "读取校验与计数",
    "triggers": "触发与存疑标记",
    "waivers": "豁免",
    "group": "按组织分组",
    "cluster": "连接集群",
    "start": "启动工作进程",
    "workers": "工作进程评价",
    "decide": "判定",
    "escalate": "升级",
    "receipt": "汇总与回执",
    "findings": "结论",
    "render": "报告输出",
}
"""Stage id -> its Chinese name (tables show both; JSON has both)."""

PROFILE_FORMAT = "rules-engine/profile/v1"


class Stage:
    """One stage being run: a context manager that tells its tracer of the start and the end, and collects the
    counts to report at the end (:meth:`count` adds)."""

    __slots__ = ("counts", "name", "tracer")

    def __init__(self, tracer: Tracer, name: str) -> None:
        self.tracer = tracer
        self.name = name
        self.counts: dict[str, int] = {}

    def __enter__(self) -> Stage:
        self.tracer.start(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        self.tracer.end(self.name, self.counts)  # also when the stage failed: nesting stays balanced

    def count(self, **counts: int) -> None:
        """Add to this stage's counts, e.g. ``stage.count(records_read=n)``."""
        mine = self.counts
        for key, n in counts.items():
            mine[key] = mine.get(key, 0) + n


class Tracer:
    """Receives the start and the end of each stage of a run. This base class ignores them; subclass it and
    override :meth:`start` and :meth:`end` to record them (:class:`RecordingTracer`)."""

    def start(self, name: str) -> None:
        """Stage `name` starts (inside the stages started and not yet ended)."""

    def end(self, name: str, counts: Mapping[str, int]) -> None:
        """Stage `name`, the last one started, ends; `counts`: what it handled (obligations, records_read ...)."""

    def stage(self, name: str) -> Stage:
        """``with tracer.stage(name) as stage:`` the block is the stage; ``stage.count(...)`` reports counts."""
        return Stage(self, name)


class _NullStage(Stage):
    __slots__ = ()

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def count(self, **counts: int) -> None:
        return None


class NullTracer(Tracer):
    """Records nothing (the default): every stage is one shared object that does nothing."""

    def __init__(self) -> None:
        self._stage = _NullStage(self, "")

    def stage(self, name: str) -> Stage:
        return self._stage


@dataclass(frozen=True)
class Event:
    """A stage's start or end: seconds since the tracer was made (wall and CPU), the process's peak resident
    memory so far in bytes (at ends; None where the platform does not tell), and the counts (at ends)."""

    kind: Literal["start", "end"]
    name: str
    depth: int
    wall: float
    cpu: float
    peak_rss: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass
class StageTotal:
    """A stage as the views show it: its path from the outermost stage, how often it ran there, the time it took
    (summed), the peak resident memory at its last end, and its counts (summed)."""

    path: tuple[str, ...]
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "zh": STAGES.get(self.name, self.name),
            "path": "/".join(self.path),
            "depth": self.depth,
            "calls": self.calls,
            "wall_s": round(self.wall, 6),
            "cpu_s": round(self.cpu, 6),
            "peak_rss_mb": None if self.peak_rss is None else round(self.peak_rss / 2**20, 1),
            "counts": dict(self.counts),
        }


def peak_rss() -> int | None:
    """The process's peak resident set size so far, in bytes (None where the platform does not tell)."""
    if resource is None:  # pragma: no cover
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes; elsewhere KiB


class RecordingTracer(Tracer):
    """Keeps every start and end (:attr:`events`), with wall time, CPU time and peak memory; views:
    :meth:`stages`, :meth:`table`, :meth:`to_dict`, :meth:`to_json`."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._open: list[str] = []
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def start(self, name: str) -> None:
        self.events.append(
            Event("start", name, len(self._open), time.perf_counter() - self._wall0, time.process_time() - self._cpu0)
        )
        self._open.append(name)

    def end(self, name: str, counts: Mapping[str, int]) -> None:
        if not self._open or self._open[-1] != name:
            raise ValueError(f"stage {name!r} ends but the stage open is {self._open[-1:]}")
        self._open.pop()
        wall, cpu = time.perf_counter() - self._wall0, time.process_time() - self._cpu0
        self.events.append(Event("end", name, len(self._open), wall, cpu, peak_rss(), dict(counts)))

    def stages(self) -> list[StageTotal]:
        """The stages in the order they first started, each path once (repeats added up)."""
        totals: dict[tuple[str, ...], StageTotal] = {}
        path: list[str] = []
        starts: list[Event] = []
        for event in self.events:
            if event.kind == "start":
                path.append(event.name)
                starts.append(event)
                where = tuple(path)
                if where not in totals:
                    totals[where] = StageTotal(where)
                continue
            began = starts.pop()
            total = totals[tuple(path)]
            path.pop()
            total.calls += 1
            total.wall += event.wall - began.wall
            total.cpu += event.cpu - began.cpu
            total.peak_rss = event.peak_rss
            for key, n in event.counts.items():
                total.counts[key] = total.counts.get(key, 0) + n
        return list(totals.values())

    def to_dict(self) -> dict[str, Any]:
        """``{"format": "rules-engine/profile/v1", "stages": [...]}``: each stage with its path, calls, wall and
        CPU seconds, peak resident memory (MB) and counts (the views of :meth:`stages`)."""
        return {"format": PROFILE_FORMAT, "stages": [s.to_dict() for s in self.stages()]}

    def to_json(self) -> bytes:
        """:meth:`to_dict` as JSON (UTF-8, indented, ending with a newline)."""
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n").encode()

    def table(self) -> str:
        """The stages as a text table (nested stages indented), one line each, ending with a newline."""
        rows = [["阶段 stage", "次数 calls", "用时 wall s", "CPU s", "峰值内存 peak RSS MB", "计数 counts"]]
        for s in self.stages():
            rows.append(
                [
                    "  " * s.depth + f"{STAGES.get(s.name, s.name)} {s.name}",
                    str(s.calls),
                    f"{s.wall:.3f}",
                    f"{s.cpu:.3f}",
                    "-" if s.peak_rss is None else f"{s.peak_rss / 2**20:.0f}",
                    " ".join(f"{k}={n:,}" for k, n in s.counts.items()),
                ]
            )
        return "\n".join(table_lines(rows)) + "\n"
