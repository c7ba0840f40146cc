"""Peak memory of a process and every process it starts (the hub's extract forks a reading
worker): the sum of their proportional set sizes, sampled every 50 ms.

PSS counts a page shared by n processes as 1/n in each, so the sum is the physical memory
the processes hold together; a sum of resident sizes would count the pages a forked worker
shares with its parent twice. Linux only (``/proc/<pid>/smaps_rollup``).
"""

from __future__ import annotations

import threading
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:  # the process has ended
        pass
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory(threading.Thread):
    """Samples the process tree of ``pid`` until :meth:`stop`; ``peak_mib`` is the largest
    sum seen."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kib = max(self.peak_kib, sum(pss_kib(p) for p in tree(self.pid)))
            self._done.wait(self.interval)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_kib / 1024

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024
