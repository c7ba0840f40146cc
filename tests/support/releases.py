"""What Innokylä received, as an attacker sees it: every version of every figure, put back
into the releases they came in.

A version is an indicator as Innokylä lists it (``GET /_sandbox/releases``: ``id``,
``published`` and the wire fields). The attacker groups the figures into *families* (one
practice model's period; the follow-up shares are a family of their own) and the versions
into *releases*: versions published within :data:`GAP` of each other came in one run. A
family's *snapshot* after a release is what Innokylä showed of it then: each figure's latest
version.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub_innokyla.mapping import native_indicator_id

SMALL, CONFIDENTIAL = "<5", "x"
FOLLOW_UP_CODES = frozenset({"follow_up_3m_moved_on_share", "follow_up_6m_moved_on_share"})
#: versions published closer together than this came in one release
GAP = dt.timedelta(seconds=1)

#: (practice model, period start, "main" | "follow_up")
Family = tuple[str, str, str]
#: (indicator code, category, municipality: None for all municipalities)
CellKey = tuple[str, str | None, str | None]


@dataclass(frozen=True)
class Version:
    """One version of one figure, as Innokylä published it."""

    model: str
    period_start: str
    code: str
    category: str | None
    municipality: str | None
    value: str  # the number as text, "<5" or "x"
    published: dt.datetime

    @property
    def family(self) -> Family:
        group = "follow_up" if self.code in FOLLOW_UP_CODES else "main"
        return (self.model, self.period_start, group)

    @property
    def cell(self) -> CellKey:
        return (self.code, self.category, self.municipality)


@dataclass
class Snapshot:
    """A family as Innokylä showed it after one release."""

    family: Family
    released: dt.datetime
    cells: dict[CellKey, str] = field(default_factory=dict)

    @property
    def municipalities(self) -> list[str]:
        return sorted({m for _, _, m in self.cells if m is not None})

    def name(self) -> str:
        model, start, group = self.family
        return f"{model} {start} ({group}) as released {self.released:%Y-%m-%d %H:%M:%S.%f}"


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def versions(listed: Iterable[dict]) -> list[Version]:
    """The versions of the wire records ``listed``, oldest first."""
    out = []
    for item in listed:
        places = item.get("municipalities") or [None]
        out.append(
            Version(
                model=item["practiceModel"],
                period_start=item["periodStart"],
                code=item["indicator"],
                category=item.get("category"),
                municipality=places[0],
                value=item["value"],
                published=parse_time(item["published"]),
            )
        )
    return sorted(out, key=lambda v: v.published)


def releases(all_versions: list[Version], gap: dt.timedelta = GAP) -> list[list[Version]]:
    """The versions grouped into releases: a pause longer than ``gap`` starts a new one."""
    out: list[list[Version]] = []
    for v in sorted(all_versions, key=lambda v: v.published):
        if out and v.published - out[-1][-1].published <= gap:
            out[-1].append(v)
        else:
            out.append([v])
    return out


def snapshots(all_versions: list[Version], gap: dt.timedelta = GAP) -> dict[Family, list[Snapshot]]:
    """Per family, what Innokylä showed of it after each release that changed it."""
    state: dict[Family, dict[CellKey, str]] = defaultdict(dict)
    out: dict[Family, list[Snapshot]] = defaultdict(list)
    for release in releases(all_versions, gap):
        touched: dict[Family, dt.datetime] = {}
        for v in release:
            state[v.family][v.cell] = v.value
            touched[v.family] = v.published
        for family, when in touched.items():
            out[family].append(Snapshot(family, when, dict(state[family])))
    return dict(out)


def history(all_versions: list[Version]) -> dict[tuple[Family, CellKey], list[Version]]:
    """Every figure's versions, oldest first."""
    out: dict[tuple[Family, CellKey], list[Version]] = defaultdict(list)
    for v in sorted(all_versions, key=lambda v: v.published):
        out[(v.family, v.cell)].append(v)
    return dict(out)


class Recorder:
    """Innokylä's memory as its sandbox keeps it (a new version of a figure only when it
    changed), for publications made in the test itself at a time the test gives."""

    def __init__(self) -> None:
        self.latest: dict[str, dict] = {}
        self.versions: list[dict] = []

    def publish(self, items: Iterable[dict], when: dt.datetime) -> int:
        """Publish ``items`` at ``when``; how many were new versions."""
        new = 0
        for item in items:
            ind_id = native_indicator_id(item)
            if self.latest.get(ind_id) == item:
                continue
            self.latest[ind_id] = item
            stamp = when + dt.timedelta(microseconds=new)
            published = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self.versions.append({**item, "id": ind_id, "published": published})
            new += 1
        return new
