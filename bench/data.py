"""Deterministic benchmark data, with identity codes of the test range 900–999 only:

- ``episodes``: a municipal nightly export of N service episodes, and the next night's
  export holding the 1 % of them that changed;
- ``billing``: Kela's monthly billing list of N lines (the month after the sandbox's own).

People come from :func:`hub.synthetic.person`, records from the sandboxes' own generators,
so the data is what the sandboxes and the demo serve, only more of it. Files are cached by
(N, seed) in ``.bench/``: generating a million records takes about a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub_kela import data as kela
from hub_kela.sandbox import write_billing_list
from hub_municipal import data as municipal
from hub_municipal import mapping as m
from hub_municipal.xmlformat import export_chunks

from hub.synthetic import person

SEED = 7
#: the full export and the next night's delta (after the sandbox's seeded exports)
FULL_EXPORT, DELTA_EXPORT = "2026-12-01", "2026-12-02"
#: every n-th episode changes between the two nights: 1 %
CHANGED_EVERY = 100
#: the billing list's month (after the Kela sandbox's generated months)
BILLING_MONTH = "2026-11"


def episode(i: int, *, changed: bool = False) -> dict[str, Any]:
    fields = municipal.episode(person(SEED, i), i, seed=SEED)
    if changed:  # a corrected daily schedule: valid, and a different record
        fields["hoursPerDay"] = str(4 + (i + 1) % 4)
    return fields


def full_records(n: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for i in range(n):
        yield "episode", municipal.record_id("episode", i), episode(i)


def delta_records(n: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for i in range(0, n, CHANGED_EVERY):
        yield "episode", municipal.record_id("episode", i), episode(i, changed=True)


def changed_count(n: int) -> int:
    return len(range(0, n, CHANGED_EVERY))


def _write(path: Path, export_id: str, records) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        generated = export_id + municipal.GENERATED_AT
        for chunk in export_chunks(export_id, m.SANDBOX_MUNICIPALITY, generated, records):
            fh.write(chunk)
    tmp.replace(path)


def exports(cache: Path, n: int) -> tuple[Path, Path]:
    """(full export, delta export) for ``n`` episodes, generated once into ``cache``."""
    folder = cache / f"episodes-{n}-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    full, delta = folder / f"{FULL_EXPORT}.xml", folder / f"{DELTA_EXPORT}.xml"
    if not full.exists():
        _write(full, FULL_EXPORT, full_records(n))
    if not delta.exists():
        _write(delta, DELTA_EXPORT, delta_records(n))
    return full, delta


def billing_list(cache: Path, n: int) -> Path:
    """A billing list of ``n`` lines for :data:`BILLING_MONTH`, recorded once into ``cache``
    in the form the Kela sandbox serves from its ``billing_dir``."""
    folder = cache / f"billing-{n}-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{BILLING_MONTH}.xml"
    if not path.exists():
        lines = kela.lines(SEED, n, BILLING_MONTH, lambda _: False)
        write_billing_list(path, itertools.islice(lines, n))
    return path
