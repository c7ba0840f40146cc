"""Sampling profiles of a scenario with py-spy (``BENCH_PYSPY=DIR``), the forked reading
worker included (pyinstrument, ``BENCH_PROFILE``, sees only the process it runs in).

py-spy samples the scenario's processes from outside, 250 times a second, waiting threads
included (``--idle``): on PostgreSQL much of the time is spent waiting for the server, which
a CPU profile would not show. :func:`summary` keeps each process's main thread (the
store's lease heartbeat and the sender pool's idle threads are not the work) and turns the
collapsed stacks into what a reader needs: per process, its wall time per record and the
functions that cost the most, in µs a record, by their own time and with what they call.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

RATE = 250
ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r":\d+\)$")


def command(raw: Path, argv: list[str]) -> list[str]:
    """``argv`` run under py-spy, its raw stacks written to ``raw``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return [spy, "record", "--format", "raw", "--subprocesses", "--rate", str(RATE),
            "--idle", "--nonblocking", "-o", str(raw), "--", *argv]  # fmt: skip


def _frame(frame: str) -> str:
    """``name (path:line)`` as ``name (short path)``: a function, whichever line."""
    frame = _LINE.sub(")", frame.strip())
    for marker in ("site-packages/", f"{ROOT}/"):
        if marker in frame:
            name, _, path = frame.partition(" (")
            return f"{name} ({path.split(marker, 1)[1]}"
    return frame


def _stacks(raw: Path) -> Counter[tuple[str, tuple[str, ...]]]:
    """Samples by (process role, stack): ``main`` the scenario's process, ``worker`` a
    process it forked (the extract's reading worker)."""
    out: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        depth = 0
        while depth < len(frames) and frames[depth].startswith("process "):
            depth += 1
        role = "main" if depth <= 1 else "worker"
        if any("_bootstrap (threading.py" in f for f in frames[depth:]):
            continue  # a thread other than the process's main thread
        out[role, tuple(_frame(f) for f in frames[depth:])] += int(count)
    return out


#: the measured phase (bench.scenarios times ``run_phase``, not imports or opening the hub)
PHASE = "run_phase (hub/engine/run.py)"


def summary(raw: Path, records: int, top: int = 15) -> str:
    """The profile in µs a record: per process, its main thread's time in the measured
    phase and its costliest functions by own time (``self``) and with their callees
    (``total``)."""
    stacks = {key: n for key, n in _stacks(raw).items() if PHASE in key[1]}
    per = 1e6 / RATE / max(records, 1)
    lines = [f"{raw.name}: {records:,} records, {RATE} samples/s, waits included"]
    for role in ("main", "worker"):
        mine = {s[s.index(PHASE) :]: n for (r, s), n in stacks.items() if r == role}
        if not mine:
            continue
        own: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for stack, n in mine.items():
            if stack:
                own[stack[-1]] += n
            for name in set(stack):
                total[name] += n
        cpu = sum(mine.values())
        lines += [
            "",
            f"{role}: {cpu * per:.1f} µs a record (main thread)",
            "  self µs/rec  function",
        ]
        lines += [f"  {n * per:11.2f}  {name}" for name, n in own.most_common(top)]
        lines += ["  total µs/rec  function"]
        lines += [f"  {n * per:12.2f}  {name}" for name, n in total.most_common(top * 2)]
    return "\n".join(lines)
