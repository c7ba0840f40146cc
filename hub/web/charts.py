"""Charts drawn on the server as inline SVG: a line chart (one or more series over periods)
and a stacked bar chart (categories per period).

No script and no chart library: the dashboard is served with a strict Content-Security-Policy
(no inline script or style) and may run where nothing can be fetched. Everything is markup
with presentation attributes; colours come from classes in ``hub.css`` (``s0`` … ``s7``).

A value of None is a figure that is not published (suppressed): a line breaks there, a
bar leaves the category out, and a marker with the published text (``x``) sits on
the axis under the period, its ``<title>`` naming what is missing. Each chart carries a
``<title>`` and a ``<desc>`` (what it shows and which periods are missing); the page adds
the same figures as a table (:meth:`Chart.rows`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, PLOT_HEIGHT = 720, 220
LEFT, RIGHT, TOP, AXIS = 64, 16, 14, 44  # margins; AXIS: below the plot, for the x labels
LEGEND_ROW, LEGEND_COLUMNS = 20, 3
COLOURS = 8  # the classes s0 … s7 in hub.css


@dataclass(frozen=True)
class Series:
    """One line or one category of bars: a value per period (None: not published) and the
    text published for it (a number or ``x``)."""

    label: str
    values: list[float | None]
    shown: list[str]


@dataclass(frozen=True)
class Chart:
    """A chart of ``series`` over ``periods`` (labels, oldest first)."""

    key: str  # unique on the page: the ids of the title and desc
    title: str
    #: what the chart is about, added to its accessible title (e.g. the practice model)
    subject: str
    y_label: str
    periods: list[str]
    series: list[Series]
    stacked: bool = False
    #: the y range to show at least (e.g. 0–100 for a percentage)
    y_span: tuple[float, float] = (0.0, 0.0)
    x_label: str = "period"

    @property
    def empty(self) -> bool:
        return not self.periods or not self.series

    @property
    def name(self) -> str:
        return f"{self.title}, {self.subject}" if self.subject else self.title

    def missing(self, i: int) -> list[Series]:
        """The series not published in period ``i``."""
        return [s for s in self.series if s.values[i] is None]

    def rows(self) -> list[tuple[str, list[str]]]:
        """The figures as a table: per period, the text published for each series."""
        return [(p, [s.shown[i] for s in self.series]) for i, p in enumerate(self.periods)]

    def description(self) -> str:
        kind = "Stacked bars" if self.stacked else "Lines"
        names = ", ".join(s.label for s in self.series)
        text = f"{kind} of {self.y_label} per {self.x_label}"
        if self.subject:
            text += f" for {self.subject}"
        if self.periods:
            text += f", {self.periods[0]} to {self.periods[-1]}"
        text += f": {names}."
        gaps = [
            f"{p} ({', '.join(s.label for s in self.missing(i))})"
            for i, p in enumerate(self.periods)
            if self.missing(i)
        ]
        if gaps:
            text += " Not published (suppressed): " + "; ".join(gaps) + "."
        return text + " The figures are also given as a table."

    def svg(self) -> Markup:
        """The chart as an ``<svg>`` element."""
        lo, hi = self._range()
        ticks = nice_ticks(lo, hi)
        lo, hi = min(ticks[0], lo), max(ticks[-1], hi)
        legend_rows = math.ceil((len(self.series) + 1) / LEGEND_COLUMNS)
        height = TOP + PLOT_HEIGHT + AXIS + legend_rows * LEGEND_ROW + 6
        frame = _Frame(len(self.periods), lo, hi)
        ident = escape(self.key)
        parts = [
            f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" aria-labelledby="{ident}-title {ident}-desc" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{ident}-title">{escape(self.name)}</title>',
            f'<desc id="{ident}-desc">{escape(self.description())}</desc>',
            *self._axes(frame, ticks),
            *(self._bars(frame) if self.stacked else self._lines(frame)),
            *self._gaps(frame),
            *self._legend(TOP + PLOT_HEIGHT + AXIS + 4),
            "</svg>",
        ]
        return Markup("\n".join(parts))

    def _range(self) -> tuple[float, float]:
        lo, hi = self.y_span
        for i in range(len(self.periods)):
            known = [s.values[i] for s in self.series if s.values[i] is not None]
            if self.stacked:
                known = [sum(known)] if known else []
            lo, hi = min([lo, *known]), max([hi, *known])
        return (lo, hi) if hi > lo else (lo, lo + 1)

    def _axes(self, frame: _Frame, ticks: list[float]) -> list[str]:
        bottom, right = TOP + PLOT_HEIGHT, WIDTH - RIGHT
        out = ['<g class="axis">']
        for t in ticks:
            y = frame.y(t)
            grid = "zero" if t == 0 else "grid"
            out.append(f'<line class="{grid}" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{_num(t)}</text>')
        out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}"/>')
        every = max(1, math.ceil(len(self.periods) / 12))
        for i, label in enumerate(self.periods):
            if i % every == 0 or i == len(self.periods) - 1:
                x = frame.x(i)
                out.append(
                    f'<text x="{x}" y="{bottom + 30}" text-anchor="middle">{escape(label)}</text>'
                )
        middle = TOP + PLOT_HEIGHT / 2
        out.append(
            f'<text class="axis-label" x="14" y="{middle}" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle})">{escape(self.y_label)}</text>'
        )
        out.append("</g>")
        return out

    def _lines(self, frame: _Frame) -> list[str]:
        out = []
        for n, s in enumerate(self.series):
            out.append(f'<g class="series s{n % COLOURS}">')
            run: list[str] = []
            for i, v in [*enumerate(s.values), (len(s.values), None)]:
                if v is None:
                    if len(run) > 1:
                        out.append(f'<polyline points="{" ".join(run)}"/>')
                    run = []
                    continue
                x, y = frame.x(i), frame.y(v)
                run.append(f"{x},{y}")
                tip = f"{self.periods[i]}, {s.label}: {s.shown[i]}"
                out.append(
                    f'<circle cx="{x}" cy="{y}" r="3.5"><title>{escape(tip)}</title></circle>'
                )
            out.append("</g>")
        return out

    def _bars(self, frame: _Frame) -> list[str]:
        out, width = [], frame.band * 0.6
        for i, period in enumerate(self.periods):
            base = 0.0
            for n, s in enumerate(self.series):
                v = s.values[i]
                if v is None or v <= 0:
                    continue
                top, bottom = frame.y(base + v), frame.y(base)
                tip = f"{period}, {s.label}: {s.shown[i]}"
                out.append(
                    f'<rect class="bar s{n % COLOURS}" x="{frame.x(i) - width / 2:.1f}" '
                    f'y="{top}" width="{width:.1f}" height="{bottom - top:.1f}">'
                    f"<title>{escape(tip)}</title></rect>"
                )
                base += v
            if base == 0 and not self.missing(i):  # no one: say so, not an empty slot
                out.append(
                    f'<text class="zero-mark" x="{frame.x(i)}" y="{frame.y(0) - 4}" '
                    f'text-anchor="middle">0<title>{escape(period)}: no one</title></text>'
                )
        return out

    def _gaps(self, frame: _Frame) -> list[str]:
        """A marker under each period with a figure not published; a shaded band where
        nothing of the period is published."""
        out = []
        for i, period in enumerate(self.periods):
            missing = self.missing(i)
            if not missing:
                continue
            x = frame.x(i)
            if len(missing) == len(self.series):
                out.append(
                    f'<rect class="gap-band" x="{x - frame.band / 2:.1f}" y="{TOP}" '
                    f'width="{frame.band:.1f}" height="{PLOT_HEIGHT}"/>'
                )
            marks = {s.shown[i] for s in missing}
            mark = "/".join(sorted(marks))
            what = ", ".join(f"{s.label} ({s.shown[i]})" for s in missing)
            tip = f"{period}: not published (suppressed): {what}"
            out.append(
                f'<text class="gap-marker" x="{x}" y="{TOP + PLOT_HEIGHT + 14}" '
                f'text-anchor="middle">{escape(mark)}<title>{escape(tip)}</title></text>'
            )
        return out

    def _legend(self, top: float) -> list[str]:
        out = ['<g class="legend">']
        column = (WIDTH - LEFT) / LEGEND_COLUMNS
        items = [(f"s{n % COLOURS}", s.label) for n, s in enumerate(self.series)]
        items.append(("gap", "x: not published (suppressed)"))
        for k, (cls, label) in enumerate(items):
            x = LEFT + (k % LEGEND_COLUMNS) * column
            y = top + (k // LEGEND_COLUMNS) * LEGEND_ROW + 10
            if cls == "gap":
                out.append(f'<rect class="gap-band" x="{x}" y="{y - 9}" width="18" height="12"/>')
            elif self.stacked:
                out.append(f'<rect class="bar {cls}" x="{x}" y="{y - 9}" width="18" height="12"/>')
            else:
                out.append(
                    f'<line class="series {cls}" x1="{x}" x2="{x + 18}" y1="{y - 3}" y2="{y - 3}"/>'
                )
            out.append(f'<text x="{x + 24}" y="{y + 1}">{escape(label)}</text>')
        out.append("</g>")
        return out


@dataclass(frozen=True)
class _Frame:
    """Where a period and a value land in the plot."""

    n: int
    lo: float
    hi: float

    @property
    def band(self) -> float:
        return (WIDTH - LEFT - RIGHT) / max(1, self.n)

    def x(self, i: int) -> float:
        return round(LEFT + (i + 0.5) * self.band, 1)

    def y(self, v: float) -> float:
        return round(TOP + PLOT_HEIGHT * (self.hi - v) / (self.hi - self.lo), 1)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo``–``hi``: about ``count`` steps of 1, 2, 2.5 or 5
    times a power of ten."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step)
    last = max(math.ceil(hi / step), first + 1)
    return [round(k * step, 10) for k in range(first, last + 1)]


def _num(v: float) -> str:
    return f"{v:g}"
