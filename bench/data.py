"""Deterministic benchmark data: a municipal nightly export of N service episodes, and the
next night's export holding the 1 % of them that changed.

People come from :func:`hub.synthetic.person` (identity codes of the test range 900–999
only) and episodes from the municipal sandbox's own generator, so the data is what the
sandbox and the demo serve, only more of it. Files are cached by (N, seed): generating a
million episodes takes about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.synthetic import person
from hub_municipal import data as municipal
from hub_municipal import mapping as m
from hub_municipal.xmlformat import export_chunks

SEED = 7
#: the full export and the next night's delta (after the sandbox's seeded exports)
FULL_EXPORT, DELTA_EXPORT = "2026-12-01", "2026-12-02"
#: every n-th episode changes between the two nights: 1 %
CHANGED_EVERY = 100


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
