"""The one parsing generator the floor and the dlt pipeline share: a streaming lxml parse
of the export file, each episode as a flat dict of text fields, nothing validated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from hub_municipal import mapping as m

EPISODE = f"{{{m.EXPORT_NS}}}episode"
PREFIX = len(m.EXPORT_NS) + 2
#: the episode's fields (the export.xsd order), all of them columns of the floor's table
FIELDS = tuple(f.native for f in m.RECORD_TYPES["service_episodes"].fields)


def episodes(path: Path) -> Iterator[dict[str, str | None]]:
    for _, elem in etree.iterparse(str(path), events=("end",), tag=EPISODE):
        row: dict[str, str | None] = dict.fromkeys(FIELDS)
        row["id"] = elem.get(m.RECORD_ID_ATTR)
        for child in elem:
            row[child.tag[PREFIX:]] = child.text
        yield row
        elem.clear(keep_tail=False)
        parent = elem.getparent()
        while elem.getprevious() is not None:
            del parent[0]


def pages(path: Path, size: int = 10_000) -> Iterator[list[dict[str, str | None]]]:
    """The same rows in lists of ``size`` (dlt's documentation recommends yielding pages)."""
    page = []
    for row in episodes(path):
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
