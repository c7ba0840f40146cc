"""What the next release to Innokylä would publish, on the dashboard (``/indicators``).

Per practice model and period (newest first): the family's state (open, waiting, new,
released, revision, withheld) with its note and publish date, and a table of its figures —
a row per indicator (and category), a column for all municipalities and one per
municipality; each cell the text Innokylä holds or would get (a number or ``x``).
A suppressed cell carries its reason as a tooltip *and* a numbered footnote under the table
(readable without a pointer); a cell that differs from the last release is marked. Above
the tables, charts of the published series (:mod:`hub.web.charts`): attendance rate, the
six Kykyviisari changes and the transitions by category, per period.

The figures come from :func:`hub.ops.indicators.preview`, the service the command line uses
too; it reads the clients' records to compute them and writes that reading to the access
log under the signed-in user. The page shows aggregates only, but not only published ones:
a period still open changes from day to day, and comparing its figures over time is the
differencing the release rules prevent. So it needs the ``operator`` role (the role that
runs the exchanges and may already see a record unmasked, with a reason logged); viewers
and auditors get 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from hub.codelists import MUNICIPALITIES, codelist
from hub.errors import ConfigError
from hub.indicators import preview as views
from hub.indicators.periods import MAIN
from hub.indicators.preview import CellView, FamilyView
from hub.model import EpisodeOutcome, IndicatorCode, InterruptionReason
from hub.ops.indicators import Preview, preview
from hub.web.auth import Operator
from hub.web.charts import Chart, Series

router = APIRouter()

STATES = {
    views.OPEN: "the period is still under way",
    views.WAITING: "closed, not final yet: late records may still change it",
    views.NEW: "final, to be published in the next release",
    views.RELEASED: "published; nothing has changed since",
    views.REVISION: "published; the next release revises it",
    views.WITHHELD: "published; a change is held back (it rests on fewer than five people)",
}
LABELS: dict[str, str] = {
    IndicatorCode.PARTICIPANTS: "Participants (people)",
    IndicatorCode.SESSIONS_HELD: "Sessions held",
    IndicatorCode.MEAN_PARTICIPANTS_PER_SESSION: "Participants per session, mean",
    IndicatorCode.ATTENDANCE_RATE: "Attendance rate, %",
    IndicatorCode.ENDED: "Ended or interrupted (people)",
    IndicatorCode.MOVED_ON_SHARE: "Moved on, % of those ended",
    IndicatorCode.TRANSITIONS: "Moved to",
    IndicatorCode.INTERRUPTION_RATE: "Interrupted, % of those ended",
    IndicatorCode.INTERRUPTIONS: "Interrupted because of",
    IndicatorCode.WAITING_DAYS: "Days from referral to start, mean",
    IndicatorCode.FOLLOW_UP_3M: "Moved on 3 months after, %",
    IndicatorCode.FOLLOW_UP_6M: "Moved on 6 months after, %",
    IndicatorCode.FEEDBACK_MEAN: "Satisfaction, mean (1–4)",
    IndicatorCode.FEEDBACK_SATISFIED: "Satisfied (3–4), %",
}
SCALES: dict[str, str] = {
    IndicatorCode.CHANGE_WORK_ABILITY: "work ability",
    IndicatorCode.CHANGE_KEHO: "keho (body)",
    IndicatorCode.CHANGE_MIELI: "mieli (mind)",
    IndicatorCode.CHANGE_TAIDOT: "taidot (skills)",
    IndicatorCode.CHANGE_ARKI: "arki (everyday life)",
    IndicatorCode.CHANGE_OSALLISUUS: "osallisuus (participation)",
}
CATEGORIES: dict[str, str] = {
    EpisodeOutcome.EMPLOYMENT: "open labour market",
    EpisodeOutcome.PAY_SUBSIDY: "pay-subsidised work",
    EpisodeOutcome.WORK_TRIAL: "work trial",
    EpisodeOutcome.EDUCATION: "training",
    EpisodeOutcome.OTHER_SERVICE: "another service",
    EpisodeOutcome.NO_CHANGE: "no change",
    EpisodeOutcome.UNKNOWN: "not known",
    InterruptionReason.HEALTH: "health",
    InterruptionReason.LIFE_SITUATION: "life situation",
    InterruptionReason.ABSENCES: "repeated absences",
    InterruptionReason.OWN_DECISION: "own decision",
    InterruptionReason.MOVED_AWAY: "moved away",
    InterruptionReason.TRANSFERRED: "transferred",
    InterruptionReason.OTHER: "other",
    "uncoded": "not coded",
}
CODE_ORDER = {c.value: n for n, c in enumerate(IndicatorCode)}
CATEGORY_ORDER = {c: n for n, c in enumerate(CATEGORIES)}
#: what a cell without a figure shows (e.g. a municipality with no such figure)
NONE = "–"


def code_label(code: str) -> str:
    if code in SCALES:
        return f"Kykyviisari change: {SCALES[code]}"
    return LABELS.get(code, code)


def category_label(category: str) -> str:
    return CATEGORIES.get(category, category.replace("_", " "))


def municipality_label(code: str) -> str:
    name = codelist(MUNICIPALITIES).name_of(code)
    return f"{name} ({code})" if name else code


def period_label(start: dt.date, end: dt.date) -> str:
    """``2026 Q2``, ``2026 H1``, ``2026``, or the dates of any other period."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    last_day = (end + dt.timedelta(days=1)).day == 1
    if start.day == 1 and last_day:
        if months == 3 and start.month % 3 == 1:
            return f"{start.year} Q{start.month // 3 + 1}"
        if months == 6 and start.month in (1, 7):
            return f"{start.year} H{start.month // 6 + 1}"
        if months == 12 and start.month == 1:
            return str(start.year)
    return f"{start.isoformat()} – {end.isoformat()}"


@dataclass
class Cell:
    shown: str
    suppressed: bool = False
    reason: str = ""
    changed: bool = False
    note: int | None = None  # the footnote giving the reason


@dataclass
class Row:
    code: str
    category: str | None
    label: str
    cells: list[Cell]


@dataclass
class Table:
    """One family's figures, as the page shows them."""

    family: FamilyView
    key: str
    period: str
    columns: list[str]
    rows: list[Row]
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # number, shown, reason

    @property
    def changed(self) -> int:
        return sum(c.changed for r in self.rows for c in r.cells)


def table(family: FamilyView) -> Table:
    """A family's cells as a table: rows by indicator and category in the model's order,
    all municipalities first, then each municipality by code; suppression reasons as
    footnotes, one per distinct reason."""
    towns = family.municipalities
    keys: dict[tuple[str, str | None], dict[str | None, CellView]] = {}
    for c in family.cells:
        keys.setdefault((c.code, c.category), {})[c.municipality] = c
    order = sorted(
        keys,
        key=lambda k: (
            CODE_ORDER.get(k[0], len(CODE_ORDER)),
            k[0],
            CATEGORY_ORDER.get(k[1] or "", len(CATEGORY_ORDER)),
            k[1] or "",
        ),
    )
    ident = f"{family.practice_model}-{family.period_start.isoformat()}-{family.group}"
    out = Table(
        family=family,
        key=ident,
        period=period_label(family.period_start, family.period_end),
        columns=["All municipalities", *(municipality_label(t) for t in towns)],
        rows=[],
    )
    notes: dict[tuple[str, str], int] = {}
    for code, category in order:
        by_town = keys[(code, category)]
        cells = []
        for town in [None, *towns]:
            c = by_town.get(town)
            if c is None:
                cells.append(Cell(NONE))
                continue
            cell = Cell(c.shown, c.value is None, c.reason, c.changed)
            if cell.suppressed:
                why = c.reason or "not published"
                cell.note = notes.setdefault((c.shown, why), len(notes) + 1)
            cells.append(cell)
        label = code_label(code)
        if category:
            label = f"{label}: {category_label(category)}"
        out.rows.append(Row(code, category, label, cells))
    out.notes = [(n, shown, why) for (shown, why), n in notes.items()]
    return out


def _series(
    got: Preview, families: list[FamilyView], model: str, code: str, category: str | None
) -> Series:
    """The published series of ``code`` over ``families`` (oldest first): its values from
    :meth:`Preview.series`, the text published for each period from the family's cell."""
    values = dict(got.series(model, code, category))
    shown, points = [], []
    for f in families:
        v, cell = values.get(f.period_start), f.cell(code, category)
        points.append(v)
        shown.append(cell.shown if cell is not None else NONE if v is None else f"{v:g}")
    label = category_label(category) if category else SCALES.get(code, code_label(code))
    return Series(label, points, shown)


def charts(got: Preview, model: str) -> list[Chart]:
    """The charts of one practice model: attendance rate, Kykyviisari changes, transitions,
    over the periods published or to be published in the next release."""
    families = sorted(
        (f for f in got.families if f.practice_model == model and f.group == MAIN and f.published),
        key=lambda f: f.period_start,
    )
    if not families:
        return []
    periods = [period_label(f.period_start, f.period_end) for f in families]
    x_label = "quarter" if all(" Q" in p for p in periods) else "period"
    categories = sorted(
        {
            c.category
            for f in families
            for c in f.cells
            if c.code == IndicatorCode.TRANSITIONS and c.category and c.municipality is None
        },
        key=lambda c: (CATEGORY_ORDER.get(c, len(CATEGORY_ORDER)), c),
    )

    def chart(key: str, title: str, y_label: str, series, **kw) -> Chart:
        ident = f"chart-{model}-{key}"
        return Chart(ident, title, model, y_label, periods, series, x_label=x_label, **kw)

    def one(code: str, category: str | None = None) -> Series:
        return _series(got, families, model, code, category)

    made = [
        chart(
            "attendance",
            f"Attendance rate per {x_label}",
            "attendance rate, %",
            [one(IndicatorCode.ATTENDANCE_RATE)],
            y_span=(0.0, 100.0),
        ),
        chart(
            "kykyviisari",
            "Kykyviisari change from the first to the last assessment",
            "mean change, points",
            [one(code) for code in SCALES],
            y_span=(-1.0, 1.0),
        ),
    ]
    if categories:
        made.append(
            chart(
                "transitions",
                f"Where people moved when their episode ended, per {x_label}",
                "people",
                [one(IndicatorCode.TRANSITIONS, c) for c in categories],
                stacked=True,
                y_span=(0.0, 5.0),
            )
        )
    return made


@dataclass
class ModelSection:
    model: str
    charts: list[Chart]
    tables: list[Table]


def sections(got: Preview, model: str | None = None) -> list[ModelSection]:
    """Per practice model (``model`` only, if given): its charts and its families' tables,
    newest period first (the main figures before the follow-up shares of a period)."""
    models = sorted({f.practice_model for f in got.families})
    out = []
    for m in models if model is None else [model]:
        families = sorted(
            (f for f in got.families if f.practice_model == m),
            key=lambda f: (-f.period_start.toordinal(), f.group != MAIN),
        )
        out.append(ModelSection(m, charts(got, m), [table(f) for f in families]))
    return out


@router.get("/indicators", response_class=HTMLResponse, name="indicators")
def indicators(view: Operator, model: str | None = None):
    try:
        got = preview(view.hub, actor=view.actor)
    except ConfigError as exc:  # no exchange publishes indicators: nothing to preview
        return view.page("indicators.html", status_code=404, error=str(exc), sections=[])
    models = got.models()
    if model and model not in models:
        raise HTTPException(400, "no indicators for that practice model: choose one listed")
    return view.page(
        "indicators.html",
        error=None,
        exchange=got.exchange,
        as_of=got.as_of,
        models=models,
        chosen=model or "",
        sections=sections(got, model or None),
        states=STATES,
    )
