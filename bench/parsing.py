"""The parsing generators the floor and the dlt pipeline share: a streaming lxml parse of a
data set's file, each record as a flat dict of text fields, nothing validated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hub_kela import mapping as kela
from hub_kela import soap
from hub_municipal import mapping as m
from lxml import etree

EPISODE = f"{{{m.EXPORT_NS}}}episode"
LINE = f"{{{kela.KELA_NS}}}{kela.LINE}"
#: the episode's fields (the export.xsd order), all of them columns of the floor's table
EPISODE_FIELDS = tuple(f.native for f in m.EPISODE.fields)
LINE_FIELDS = tuple(kela.LINE_FIELDS.values())
#: (id column, field columns) of each data set
COLUMNS = {"episodes": ("id", EPISODE_FIELDS), "billing": ("nro", LINE_FIELDS)}


def _prune(elem: etree._Element) -> None:
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    while elem.getprevious() is not None:
        del parent[0]


def _row(elem: etree._Element, dataset: str, key: str, prefix: int) -> dict[str, str | None]:
    """The record's fields by their local names, its id under the data set's key column."""
    id_column, fields = COLUMNS[dataset]
    row: dict[str, str | None] = dict.fromkeys(fields)
    row[id_column] = elem.get(key)
    for child in elem:
        row[child.tag[prefix:]] = child.text
    return row


def episodes(path: Path) -> Iterator[dict[str, str | None]]:
    prefix = len(m.EXPORT_NS) + 2
    for _, elem in etree.iterparse(str(path), events=("end",), tag=EPISODE):
        yield _row(elem, "episodes", m.RECORD_ID_ATTR, prefix)
        _prune(elem)


def billing_lines(path: Path) -> Iterator[dict[str, str | None]]:
    """The lines of a recorded billing list (its rows use the response envelope's
    namespace prefixes, declared here as the envelope would)."""
    prefix = len(kela.KELA_NS) + 2
    declarations = " ".join(f'xmlns:{p}="{ns}"' for p, ns in soap.NSMAP.items())
    parser = etree.XMLPullParser(events=("end",), tag=LINE)
    parser.feed(f"<rows {declarations}>".encode())

    def rows() -> Iterator[dict[str, str | None]]:
        for _, elem in parser.read_events():
            yield _row(elem, "billing", kela.LINE_NO_ATTR, prefix)
            _prune(elem)

    with path.open("rb") as fh:
        while block := fh.read(1 << 16):
            parser.feed(block)
            yield from rows()
    parser.feed(b"</rows>")
    parser.close()
    yield from rows()


PARSERS = {"episodes": episodes, "billing": billing_lines}


def pages(dataset: str, path: Path, size: int = 10_000) -> Iterator[list[dict[str, str | None]]]:
    """The same rows in lists of ``size`` (dlt's documentation recommends yielding pages)."""
    page = []
    for row in PARSERS[dataset](path):
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
