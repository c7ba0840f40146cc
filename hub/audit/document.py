"""A client's log extract as a document: its rows, and the HTML and CSV it is written as
(:mod:`hub.audit.extract` makes it). The templates are the package's own files
(``hub/audit/templates``, read through the package loader)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from hub.audit.period import ExtractError, Period

#: the access-log actions hub.audit.extract writes (mapped to THL's action codes by
#: hub.store.audit)
EXTRACT, LOG_READ = "extract", "log_read"
#: the formats an extract is written in
FORMATS = ("html", "csv")
#: the CSV's columns: one row per access event or disclosure concerning the person
CSV_COLUMNS = (
    "kind",
    "at",
    "actor_or_exchange",
    "action",
    "what",
    "recipient",
    "legal_basis_or_purpose",
    "outcome",
)
ACCESS, DISCLOSURE = "access", "disclosure"
#: what an access without records read was about; a record the hub no longer holds
LOG_ENTRIES, GONE = "log entries", "record no longer held"
LAW = "Act 703/2023 § 11"


@dataclass(frozen=True)
class Entry:
    """One row of the extract: an access event or a disclosure concerning the person."""

    kind: str
    at: dt.datetime
    actor_or_exchange: str
    action: str
    recipient: str
    legal_basis_or_purpose: str
    outcome: str
    #: the kinds of records read or sent, each with the fields sent (none for an access;
    #: none at all: the entry is about log data, e.g. an earlier extract)
    kinds: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: the exchange the entry belongs to, if any (the document describes it)
    exchange: str | None = None

    @property
    def what(self) -> str:
        if not self.kinds:
            return LOG_ENTRIES
        return "; ".join(f"{k} ({', '.join(f)})" if f else k for k, f in self.kinds)

    def row(self) -> dict[str, str]:
        values = {c: str(getattr(self, c)) for c in CSV_COLUMNS}
        values["at"] = self.at.isoformat(timespec="seconds")
        return values


@dataclass(frozen=True)
class ExchangeNote:
    """What an exchange named in the extract is, for the reader: its own description."""

    name: str
    description: str
    source: str
    target: str


@dataclass(frozen=True)
class Extract:
    """A client's log extract, ready to be written as HTML or CSV."""

    person: str
    known: bool
    period: Period
    made_at: dt.datetime
    made_by: str
    controller: str
    #: the id of the access event that logged the extract's making: its reference number
    reference: int | None
    entries: tuple[Entry, ...]
    exchanges: tuple[ExchangeNote, ...] = field(default=())

    @property
    def accesses(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == ACCESS]

    @property
    def disclosures(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == DISCLOSURE]

    @property
    def stem(self) -> str:
        """The files' name without extension (no identity code in it)."""
        return f"lokiote-{self.made_at:%Y%m%d-%H%M%S}-{self.reference or 0}"

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for entry in self.entries:
            writer.writerow({k: _cell(v) for k, v in entry.row().items()})
        return out.getvalue()

    def html(self) -> str:
        """The whole document, printable, with its own style."""
        return _templates().get_template("extract.html").render(x=self)

    def body_html(self) -> str:
        """The document's content without page and style (the dashboard shows it)."""
        return _templates().get_template("_extract_body.html").render(x=self)

    def render(self, fmt: str) -> str:
        if fmt not in FORMATS:
            raise ExtractError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
        return self.html() if fmt == "html" else self.csv()

    def write(self, folder: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
        """Write the extract into ``folder`` (created if missing) in ``formats``; the files'
        paths. Only the owner may read them: they describe a person's data."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        written = []
        for fmt in formats:
            path = folder / f"{self.stem}.{fmt}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise ExtractError(f"{path} exists already; choose another --out") from None
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(self.render(fmt))
            written.append(path)
        return written


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (free-text purposes are typed by
    people)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def parse_formats(value: str) -> tuple[str, ...]:
    """``html,csv`` as a tuple, each format known."""
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ExtractError(f"--format takes {', '.join(FORMATS)} (comma-separated)")
    return wanted


#: the canonical entities, as the document names them to a client
ENTITY_LABELS = {
    "ActivationPlan": "aktivointisuunnitelma",
    "ActivationPlanObligation": "aktivointisuunnitelman tarve",
    "Assessment": "arviointi",
    "Attendance": "läsnäolopäivät",
    "BenefitDays": "etuuspäivät",
    "BillDispute": "laskun oikaisupyyntö",
    "BillingLine": "laskurivi",
    "Client": "asiakkaan perustiedot",
    "DisclosureProhibition": "luovutuskielto",
    "Feedback": "asiakaspalaute",
    "FollowUp": "seurantatieto",
    "IncomeSupportMonth": "toimeentulotukikuukausi",
    "LabourPolicyStatement": "työvoimapoliittinen lausunto",
    "Notification": "ilmoitus",
    "ServiceEpisode": "palvelujakso",
}
ACTION_LABELS = {
    "receive": "vastaanotto (received)",
    "read": "luku (read)",
    "reveal": "luku peittämättä (read unmasked)",
    "aggregate": "tilastointi (aggregated)",
    "reconcile": "täsmäytys (reconciled)",
    "disclose": "luovutus (disclosed)",
    EXTRACT: "lokiote (log extract)",
    LOG_READ: "lokitietojen luku (log data read)",
}
OUTCOME_LABELS = {
    "ok": "luovutettu (delivered)",
    "skipped": "ei tarvittu (not needed)",
    "failed": "epäonnistui (failed)",
    "sending": "kesken (in progress)",
    "unconfirmed": "vahvistamatta (unconfirmed)",
}


def _who(actor: str) -> str:
    """An access log's actor as a reader understands it."""
    kind, _, name = actor.partition(":")
    if kind == "exchange" and name:
        return f"tiedonvaihto (exchange) {name}"
    if kind == "dashboard" and name:
        return f"{name} (hallintanäkymä / dashboard)"
    if kind == "cli" and name:
        login, _, auditor = name.partition("/")
        return f"{auditor} (komentorivi / command line, {login})" if auditor else f"{login} (cli)"
    if actor == "hub":
        return "integraatiopalvelu itse (the hub itself)"
    return actor


def _when(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S ") + value.isoformat()[-6:]


_ENV: Environment | None = None


def _templates() -> Environment:
    """The document's templates, carried by the package (importlib.resources)."""
    global _ENV
    if _ENV is None:
        env = Environment(
            loader=PackageLoader("hub.audit", "templates"),
            autoescape=select_autoescape(["html"]),
        )
        env.filters["when"] = _when
        env.filters["who"] = _who
        env.filters["day"] = lambda v: f"{v.day}.{v.month}.{v.year}"
        env.filters["action"] = lambda v: ACTION_LABELS.get(v, v)
        env.filters["outcome"] = lambda v: OUTCOME_LABELS.get(v, v)
        env.filters["entity"] = lambda v: f"{ENTITY_LABELS[v]} ({v})" if v in ENTITY_LABELS else v
        env.globals["law"] = LAW
        _ENV = env
    return _ENV
