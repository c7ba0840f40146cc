"""The answers of the sandbox's services, for the synthetic people of one seed.

The billing months (the generated ones, then the recorded lists of ``billing_dir``); one
municipality's billing list of a month from line ``alkaen`` on, streamed as it is generated or
read (the people it pays for, :func:`.data.paying_municipality`); benefit day counts (of the
people the municipalities asked about pay for) and eTotu notices paged by sequence number;
the attendance report and the labour-policy statements, deduplicated by item key
(:class:`KelaState`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from hub.sandbox import FaultState
from hub_kela import data
from hub_kela import mapping as m
from hub_kela import sandbox_responses as responses
from hub_kela.attendance import report_from_element
from hub_kela.sandbox_requests import (
    Fault,
    item_problem,
    number,
    report_problem,
    statement_problem,
)
from hub_kela.soap import k
from hub_kela.statements import statement_from_element

#: the most records a page holds, whatever is asked for
MAX_PAGE = 500
#: (rows, the attributes of the response element) of an answer that is not streamed
Rows = tuple[list[etree._Element], dict[str, str]]


def _corrupt_hetu(code: str) -> str:
    return code[:-1] + ("A" if code[-1] != "A" else "B")


class KelaState:
    """The items received (attendance-report items, labour-policy statements): a verdict
    per service and item key, and the accepted items."""

    def __init__(self, seed: int, size: int):
        self.seed, self.size = seed, size
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            #: (service, key) -> (state, reason)
            self.results: dict[tuple[str, str], tuple[str, str]] = {}
            self.accepted: dict[tuple[str, str], dict[str, Any]] = {}

    def received(self) -> list[dict[str, Any]]:
        """The accepted items, one per key, with the service that took them."""
        with self.lock:
            return [
                {"idempotency_key": key, "service": service, **r}
                for (service, key), r in self.accepted.items()
            ]

    def report(
        self, key: str, item: dict[str, Any], reject_all: bool, invalid: str | None = None
    ) -> tuple[str, str]:
        """Judge one report item (``invalid``: why it breaks the schema, if it does)."""
        return self.judge(m.SVC_ATTENDANCE, key, item, reject_all, invalid, report_problem)

    def statement(
        self, key: str, item: dict[str, Any], reject_all: bool, invalid: str | None = None
    ) -> tuple[str, str]:
        """Judge one labour-policy statement (``invalid``: why it breaks the schema)."""
        return self.judge(m.SVC_STATEMENTS, key, item, reject_all, invalid, statement_problem)

    def judge(
        self,
        service: str,
        key: str,
        item: dict[str, Any],
        reject_all: bool,
        invalid: str | None,
        problem_of: Callable[[dict[str, Any]], str | None],
    ) -> tuple[str, str]:
        """Judge one item of ``service``: refused for ``invalid`` (it breaks the schema) or
        what ``problem_of`` finds. An accepted key answers ``kaksoiskappale`` and stores
        nothing; a rejected key is judged afresh, so that a fixed record can be replayed."""
        with self.lock:
            if self.results.get((service, key), ("",))[0] == m.ACCEPTED:
                return m.DUPLICATE, ""
            problem = "refused (reject_writes fault)" if reject_all else None
            problem = problem or invalid or problem_of(item)
            result = (m.REJECTED, problem) if problem else (m.ACCEPTED, "")
            self.results[service, key] = result
            if not problem:
                self.accepted[service, key] = item
            return result


class KelaServices:
    """Kela's services for ``state.size`` people of ``state.seed``; ``steps``: the
    municipal share steps; ``folder``: the recorded billing lists, if any."""

    def __init__(
        self, state: KelaState, faults: FaultState, steps: data.Steps, folder: Path | None
    ):
        self.state, self.faults, self.steps, self.folder = state, faults, steps, folder
        self.seed, self.size = state.seed, state.size
        #: lines per (generated month, municipality), computed once
        self._counts: dict[tuple[str, str], int] = {}
        self._recorded_counts: dict[tuple, int] = {}  # lines per recorded list, by its state

    # --- billing ------------------------------------------------------------------------

    def recorded(self) -> dict[str, Path]:
        """The recorded lists by month (a month that is generated is not offered twice)."""
        if self.folder is None:
            return {}
        found = {p.stem: p for p in sorted(self.folder.glob("*.xml"))}
        return {month: p for month, p in found.items() if month not in data.MONTHS}

    def line_count(self, month: str, municipality: str) -> int:
        """The lines of ``municipality``'s bill for ``month`` (a recorded list: its own)."""
        path = self.recorded().get(month)
        if path is not None:  # counted again whenever the file (or its .rivit) changes
            sidecar = path.with_suffix(".rivit")
            stat = path.stat()
            key = (path, stat.st_mtime_ns, stat.st_size, sidecar.exists() and sidecar.read_text())
            if key not in self._recorded_counts:
                self._recorded_counts[key] = responses.declared_lines(path)
            return self._recorded_counts[key]
        if (month, municipality) not in self._counts:
            self._counts[month, municipality] = data.line_count(
                self.seed, self.size, month, municipality, self.steps
            )
        return self._counts[month, municipality]

    def months(self, body: etree._Element, municipalities: Sequence[str]) -> Rows:
        rows, municipality = [], municipalities[0]  # a bill is one municipality's
        for month in [*data.MONTHS, *self.recorded()]:
            count = self.line_count(month, municipality)
            elem = etree.Element(k(m.MONTH), {m.ROWS_ATTR: str(count)})
            elem.text = month
            rows.append(elem)
        return rows, {}

    def billing(
        self, header: etree._Element, body: etree._Element, municipality: str
    ) -> Iterator[bytes]:
        """The chunks of one month's billing list response (not a generator: a request
        for a month that has no list is a :class:`Fault` before anything is sent)."""
        month = body.findtext(k(m.MONTH)) or ""
        path = self.recorded().get(month)
        if path is None and month not in data.MONTHS:
            raise Fault(m.FAULT_BAD_REQUEST, "no billing list for that month")
        start = max(1, number(body, m.FROM, 1))
        response = f"{m.SVC_BILLING}Response"
        attrs = {
            m.MONTH: month,
            m.MUNICIPALITY: municipality,
            m.DUE_ATTR: data.bill_due_date(month, municipality).isoformat(),
        }
        if path is not None:
            rows = responses.recorded_lines(path, start)
            cut = responses.cut_short(path)
            return responses.envelope_around(header, response, m.BILLING, attrs, rows, cut=cut)
        lines = data.lines(
            self.seed, self.size, month, self.faults.is_malformed, self.steps, start, municipality
        )
        rows = (
            responses.record_element(m.LINE, x["nro"], x, m.LINE_FIELDS.values()) for x in lines
        )
        return responses.envelope_chunks(header, response, rows, wrapper=(m.BILLING, attrs))

    # --- pages --------------------------------------------------------------------------

    def benefit_days(self, body: etree._Element, municipalities: Sequence[str]) -> Rows:
        return self.page(
            body,
            m.COUNT,
            m.COUNT_FIELDS.values(),
            self.size,
            lambda n: data.benefit_days(self.seed, n - 1, municipalities),
            lambda n: data.pays(self.seed, n - 1, municipalities),
        )

    def notices(self, body: etree._Element, municipalities: Sequence[str]) -> Rows:
        return self.page(
            body,
            m.NOTICE,
            m.NOTICE_FIELDS.values(),
            data.notice_count(self.size),
            lambda n: data.notice(self.seed, n, municipalities),
        )

    def page(
        self,
        body: etree._Element,
        name: str,
        order: Iterable[str],
        count: int,
        make: Callable[[int], dict[str, Any]],
        keep: Callable[[int], bool] | None = None,
    ) -> Rows:
        """Items ``alkaen``.. (at most ``enintaan``) of the sequence 1..``count``, those
        ``keep`` keeps (default: all; the others are gaps in the sequence), and the
        attributes saying what follows."""
        first = max(1, number(body, m.FROM, 1))
        limit = min(MAX_PAGE, max(1, number(body, m.MAX, 100)))
        kept = (n for n in range(first, count + 1) if keep is None or keep(n))
        numbers = list(itertools.islice(kept, limit))
        after = next(kept, None)  # the next item of the sequence, if any
        items = []
        for n in numbers:
            fields = make(n)
            if self.faults.is_malformed(n - 1):
                fields = {**fields, "hetu": _corrupt_hetu(fields["hetu"])}
            items.append(responses.record_element(name, n, fields, order))
        following = {m.NEXT: str(after)} if after is not None else {}
        return items, {m.MORE: "false" if after is None else "true", **following}

    # --- the attendance report and the labour-policy statements -------------------------

    def report(self, body: etree._Element, municipalities: Sequence[str]) -> Rows:
        return self.judged(body, m.REPORT, report_from_element, self.state.report)

    def statements(self, body: etree._Element, municipalities: Sequence[str]) -> Rows:
        return self.judged(body, m.STATEMENT, statement_from_element, self.state.statement)

    def judged(
        self,
        body: etree._Element,
        name: str,
        read: Callable[[etree._Element], dict[str, Any]],
        judge: Callable[..., tuple[str, str]],
    ) -> Rows:
        """One ``<tulos>`` per ``name`` item of the request, each judged on its own."""
        rows = []
        for item in body.iterchildren(k(name)):
            key = item.get(m.ITEM_KEY_ATTR)
            if not key:
                raise Fault(m.FAULT_BAD_REQUEST, f"an item without {m.ITEM_KEY_ATTR}")
            reject = self.faults.faults.reject_writes
            state, reason = judge(key, read(item), reject, item_problem(body, item))
            result = etree.Element(k(m.RESULT), {m.ITEM_KEY_ATTR: key, m.RESULT_STATE_ATTR: state})
            result.text = reason or None
            rows.append(result)
        return rows, {}
