"""One result per measurement: our figures next to the raw ones of the same run, the ratio and the verdict."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import Figures


@dataclass(frozen=True)
class Result:
    name: str
    ours: Figures
    raw: Figures
    ratio: float | None  # ours/raw throughput, or ours/raw p99 for latency targets
    target: str
    passed: bool | None  # None: a reference row (what the architecture or the query alone reaches), no target
    notes: list[str] = field(default_factory=list)


def _num(value: float | None, width: int, digits: int = 1) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def _figures(f: Figures) -> str:
    return f"{_num(f.ops_per_s, 9)} {_num(f.p50_ms, 8, 2)} {_num(f.p99_ms, 8, 2)} {f.errors:>5}"


NAME_WIDTH = 26
TARGET_WIDTH = 18
_FIGURES_HEAD = f"{'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'err':>5}"


def format_row(r: Result) -> str:
    ratio = f"{r.ratio:>6.2f}x" if r.ratio is not None else f"{'-':>7}"
    verdict = "ref" if r.passed is None else "PASS" if r.passed else "MISS"
    target = f"{r.target:<{TARGET_WIDTH}}"
    return f"{r.name:<{NAME_WIDTH}} | {_figures(r.ours)} | {_figures(r.raw)} | {ratio} | {target} | {verdict}"


def format_table(results: Sequence[Result]) -> str:
    width = len(_FIGURES_HEAD)
    head = (
        f"{'measurement':<{NAME_WIDTH}} | {'ours':^{width}} | {'raw (same run)':^{width}} |"
        f" {'ratio':>7} | {'target':<{TARGET_WIDTH}} | result"
    )
    sub = f"{'':<{NAME_WIDTH}} | {_FIGURES_HEAD} | {_FIGURES_HEAD} | {'':>7} | {'':<{TARGET_WIDTH}} |"
    lines = [head, sub, "-" * len(head)]
    for r in results:
        lines.append(format_row(r))
        lines.extend(f"{'':<{NAME_WIDTH}}   - {note}" for note in r.notes)
    return "\n".join(lines)


def write_json(path: Path, results: Sequence[Result], settings: Any) -> None:
    document = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {k: str(v) for k, v in dataclasses.asdict(settings).items()},
        "results": [dataclasses.asdict(r) for r in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
