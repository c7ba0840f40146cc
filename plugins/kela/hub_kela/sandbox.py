"""Sandbox of Kela's municipal services: an X-Road security server in front of them.

One SOAP endpoint (``POST /``). Every request passes what a security server and the service
would check (:mod:`.sandbox_requests`): the envelope parses safely; the X-Road header
elements are valid against the official schemas (``client`` present, a SUBSYSTEM with a
well-formed identifier; ``service`` a SERVICE of the same instance, Kela's and one of
:data:`.mapping.SERVICES`; a non-empty ``id``; ``protocolVersion`` 4.0), else a ``Client.*``
SOAP fault (HTTP 500); the body request is valid against Kela's body schema
(``schemas/kunta.xsd`` of this package), else a ``Client.BadRequest`` fault naming the
element (an attendance-report item or a statement that is not valid is rejected alone, with
the reason, while the other items of the request are judged). The response echoes the
request's header and adds ``requestHash`` (SHA-512 of the request). Every response the
sandbox writes is valid against the same schema (:mod:`.sandbox_responses`).

Services (:mod:`.sandbox_services`): the billing months; one month's billing list from line
``alkaen`` on, streamed as it is generated (a million lines never sit in memory; the share
steps are configurable); benefit-day counts and eTotu notices paged by sequence number
(``alkaen``, ``enintaan``; the answer says ``lisaa`` and ``seuraava``), for the
municipalities asked about. The paying municipality is the person's home municipality on the
payment date (:func:`.data.paying_municipality`: the one :func:`hub.synthetic.person` gives
and the other sandboxes give the same person), so a municipality's billing list and the
benefit-day counts hold only the people it pays for: a person living in a municipality not
asked about is on no list of the one asked (the counts keep the person's sequence number, so
the sequence has gaps). A notice is addressed to one of the municipalities asked about (the
person's home when it is one of them, :func:`.data.municipality_of`). Shares are rounded to
the cent half up (``ROUND_HALF_UP``). The attendance report, deduplicated by item key (an
accepted key answers ``kaksoiskappale`` and stores nothing; a rejected key is judged afresh,
so that a fixed record can be replayed), refusing more than five attended days in an ISO
week; the employment authority's labour-policy statements, judged and deduplicated the same
way, refusing an invalid identity code, a period that ends before it starts, a period without
benefit without its end and a statement other than "no obstacle" without its ground.

Recorded billing lists: with ``billing_dir`` the sandbox also offers, after its generated
months, every ``<YYYY-MM>.xml`` of that folder: the month's lines as written by
:func:`write_billing_list`, one ``<rivi>`` a text line, streamed as they are (so that a list
of a million lines costs the sandbox nothing but reading a file; ``malformed_every`` does not
change them, the other faults apply). A recorded file is served byte for byte, so a test
can hand-edit one to break Kela's contract: a text line is line ``n`` of the list whatever
it holds (put an element the list does not have on the same text line as a ``<rivi>``). The
months list declares as many lines as the file has text lines, or the number in
``<YYYY-MM>.rivit`` beside it (a list recorded short of what Kela declares). A file whose
last text line does not end with a newline was cut short: its response ends there too, in
the middle of the document, like a transfer that broke off.

Deliberate rule breakers (always there, deterministic: a reconciliation of the bill,
:mod:`hub.reconciliation`, has these to find and nothing else):

- billed elsewhere: one person in a hundred (``i % 100 == 2``: people 2, 102, 202, ...,
  :data:`.data.MOVED_EVERY`) moved and Kela's register still has them in Seinäjoki (743),
  or in Lapua (408) when they live in Seinäjoki: every line of theirs is on that
  municipality's bill, not their home's, and their benefit-day count names it as the payer;
- a cent: the first line of every municipality's bill for September 2026
  (:data:`.data.CENT_MONTH`) has a municipal share a cent short of what its amounts give
  (the model lets a cent pass on intake, the reconciliation does not);
- a due date: Seinäjoki's (743) bill for October 2026 (:data:`.data.EARLY_DUE`) is due on
  Friday 27.11.2026, not on the 28th (a Saturday); every other bill on the 28th.

A recorded list is served as recorded: none of these applies to it.

Faults (:class:`hub.sandbox.FaultState`): 429/503 with ``Retry-After``, slow responses;
``malformed_every`` breaks every n-th record served (a share that does not match the amounts,
an identity code with a wrong check character); ``reject_writes`` refuses every report item
and statement.
``/_sandbox/received`` lists the accepted report items and statements, one per key, each with
the ``service`` that took it.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hub.sandbox import FaultState, control_routes
from hub_kela import data
from hub_kela import mapping as m
from hub_kela import sandbox_responses as responses
from hub_kela.sandbox_requests import XML, Fault, parse_request
from hub_kela.sandbox_responses import write_billing_list
from hub_kela.sandbox_services import KelaServices, KelaState

__all__ = ["create_app", "write_billing_list"]


def create_app(
    seed: int = 1,
    size: int = 50,
    share_steps: Any = None,
    billing_dir: str | Path | None = None,
) -> Starlette:
    """The sandbox app for ``size`` synthetic people of ``seed``. ``share_steps`` replaces
    the municipal share steps the billing list is computed with (:data:`.data.SHARE_STEPS`),
    as ``[(first_day, percent), ...]`` or ``[{"from_day": ..., "percent": ...}, ...]``;
    ``billing_dir`` adds the recorded billing lists of that folder."""
    state = KelaState(seed, size)
    faults = FaultState()
    steps = data.SHARE_STEPS if share_steps is None else data.parse_steps(share_steps)
    folder = Path(billing_dir) if billing_dir is not None else None
    services = KelaServices(state, faults, steps, folder)
    #: the services answered whole, by service code (the billing list is streamed)
    answered = {
        m.SVC_MONTHS: services.months,
        m.SVC_BENEFIT_DAYS: services.benefit_days,
        m.SVC_NOTICES: services.notices,
        m.SVC_ATTENDANCE: services.report,
        m.SVC_STATEMENTS: services.statements,
    }

    async def endpoint(request: Request) -> Response:
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status is not None:
            after = str(max(1, math.ceil(faults.faults.retry_after)))
            return Response("try again later", status, headers={"Retry-After": after})
        message = await request.body()
        try:
            call = parse_request(message)
            header = responses.answer_header(call.header, message)
            if call.service == m.SVC_BILLING:
                chunks = services.billing(header, call.body, call.municipality)
                return StreamingResponse(chunks, media_type=XML)
            rows, attrs = answered[call.service](call.body, call.municipalities)
            response = f"{call.service}Response"
            answer = responses.envelope_chunks(header, response, iter(rows), attrs=attrs)
            return Response(b"".join(answer), media_type=XML)
        except Fault as exc:
            return exc.response()

    return Starlette(
        routes=[
            Route(m.ENDPOINT, endpoint, methods=["POST"]),
            control_routes(faults, state.reset, state.received),
        ]
    )
