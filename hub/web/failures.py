"""Dead letters on the dashboard: the filtered, paged list; one failed record with its
payload (masked, or unmasked for an operator who states why: the access log keeps both);
replaying a selection or one record, or one with its payload corrected; resolving one with a
note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub.engine import letters, replay
from hub.engine.replay import NotCorrectable, correctable
from hub.privacy import redact
from hub.store import deadletters
from hub.store.deadletter_filter import DeadLetterFilter, FilterError
from hub.web.auth import OperatorPost, Viewer
from hub.web.rendering import View

#: failed records on one page
PAGE = 50

#: the largest row id the stores hold (a 64-bit integer): a larger one is a bad request
MAX_ROW_ID = 2**63 - 1
LetterId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

router = APIRouter(prefix="/failures")


def letter_filter(request: Request) -> DeadLetterFilter:
    """The filter the query parameters ask for (a dependency); 400 if it cannot be read."""
    try:
        return DeadLetterFilter.parse(request.query_params)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("", response_class=HTMLResponse, name="failures")
def failures(
    view: Viewer,
    where: Annotated[DeadLetterFilter, Depends(letter_filter)],
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
):
    with view.hub.store.transaction() as conn:
        rows = deadletters.list_letters(conn, where, before_id=before, limit=PAGE)
        total = deadletters.count_letters(conn, where)
        open_total = deadletters.count_letters(conn, where, status=deadletters.OPEN)
        choices = deadletters.facets(conn)
    return view.page(
        "failures.html",
        rows=rows,
        total=total,
        open_total=open_total,
        choices=choices,
        query=where.query(),
        next_before=rows[-1].id if len(rows) == PAGE else None,
    )


def _letter(view: View, letter_id: int):
    try:
        return letters.letter(view.hub, letter_id)
    except letters.LetterError:
        raise HTTPException(404, "no such dead letter") from None


def _show(view: View, letter_id: int, *, reveal_reason: str | None):
    """The failed record's page (:func:`hub.engine.letters.show`: masking, access log)."""
    try:
        shown = letters.show(view.hub, letter_id, view.actor, reveal=reveal_reason)
    except letters.LetterError:  # the reason is checked before: only a missing letter
        raise HTTPException(404, "no such dead letter") from None
    return view.page(
        "failure.html",
        row=shown.row,
        payload=shown.payload,
        revealed=shown.revealed,
        offer=shown.offer,
        correction=_correction(view, shown),
    )


def _correction(view: View, shown: letters.Shown):
    """The payload an operator may correct and replay, once revealed (an open letter of a
    source record: the form of ``hub failures export``); None otherwise."""
    row = shown.row
    if not (shown.revealed and view.user.is_operator and row.status == deadletters.OPEN):
        return None
    if row.stage not in ("read", "translate", "validate"):
        return None
    try:
        return correctable(view.hub, row)
    except NotCorrectable:
        return None


@router.get("/{letter_id}", response_class=HTMLResponse, name="failure")
def failure(view: Viewer, letter_id: LetterId):
    return _show(view, letter_id, reveal_reason=None)


@router.post("/{letter_id}/reveal", response_class=HTMLResponse, name="reveal")
def reveal(view: OperatorPost, letter_id: LetterId, reason: Annotated[str, Form()] = ""):
    try:
        letters.reveal_reason(reason)
    except letters.LetterError as exc:
        view.flash(str(exc)[0].upper() + str(exc)[1:])
        return view.redirect("failure", letter_id=letter_id)
    return _show(view, letter_id, reveal_reason=reason)


@router.post("/replay", name="replay_selected")
def replay_selected(view: OperatorPost, ids: Annotated[list[int], Form()] = []):  # noqa: B006
    if not ids:
        view.flash("Select the records to replay")
        return view.redirect("failures")
    results = replay(view.hub, ids, actor=view.actor)
    done = sum(r.ok for r in results if r.letter_id)
    view.flash(f"Replayed {done} of {len(ids)}")
    for r in results:
        if not r.ok:
            view.flash(f"#{r.letter_id}: {redact(r.detail)}" if r.letter_id else redact(r.detail))
    return view.redirect("failures")


@router.post("/{letter_id}/replay", name="replay_one")
def replay_one(view: OperatorPost, letter_id: LetterId):
    for r in replay(view.hub, [letter_id], actor=view.actor):
        view.flash(redact(r.detail) if r.ok else f"Not replayed: {redact(r.detail)}")
    return view.redirect("failure", letter_id=letter_id)


@router.post("/{letter_id}/choose", name="choose")
def choose(
    view: OperatorPost,
    letter_id: LetterId,
    chosen: Annotated[list[str], Form()] = [],  # noqa: B006
):
    """An operator's choice of the items a held record may report (a week over the
    allowance's limit: the days): the record is screened again with it and delivered."""
    row = _letter(view, letter_id)
    offer = deadletters.payload_of(view.hub.keys, row) if row.stage == "disclose" else None
    if not isinstance(offer, dict) or row.status != deadletters.OPEN:
        view.flash("This failure does not wait for a choice")
        return view.redirect("failure", letter_id=letter_id)
    limit = offer.get("choose_at_most", 0)
    if not chosen or len(chosen) > limit or not set(chosen) <= set(offer.get("choices", ())):
        view.flash(f"Choose from 1 to {limit} of the {offer.get('field')} offered")
        return view.redirect("failure", letter_id=letter_id)
    results = replay(
        view.hub, [letter_id], actor=view.actor, corrected={letter_id: {row.field: chosen}}
    )
    for r in results:
        view.flash(redact(r.detail) if r.ok else f"Not replayed: {redact(r.detail)}")
    return view.redirect("failure", letter_id=letter_id)


@router.post("/{letter_id}/correct", name="correct")
def correct(view: OperatorPost, letter_id: LetterId, payload: Annotated[str, Form()] = ""):
    """Replay with the payload the operator corrected (logged: who, which fields)."""
    _letter(view, letter_id)
    try:
        results = letters.correct(view.hub, letter_id, view.actor, payload)
    except letters.LetterError as exc:
        view.flash(f"Not replayed: {redact(str(exc))}")
        return view.redirect("failure", letter_id=letter_id)
    for r in results:
        view.flash(redact(r.detail) if r.ok else f"Not replayed: {redact(r.detail)}")
    return view.redirect("failure", letter_id=letter_id)


@router.post("/{letter_id}/resolve", name="resolve")
def resolve(view: OperatorPost, letter_id: LetterId, note: Annotated[str, Form()] = ""):
    _letter(view, letter_id)
    try:
        letters.resolve(view.hub, [letter_id], view.actor, note)
    except letters.LetterError:
        view.flash("A note is needed to mark a failure resolved")
        return view.redirect("failure", letter_id=letter_id)
    view.flash(f"#{letter_id} marked resolved")
    return view.redirect("failure", letter_id=letter_id)
