"""What an operator does with a dead letter — show it, reveal its personal data, resolve it —
in one place, for the command line and the dashboard alike: the same masking, the same
rules for a reason or a note, the same entries in the access log; and export its payload
for correction. (Replaying is :mod:`hub.engine.replay`.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.engine.context import Hub
from hub.engine.replay import NotCorrectable, correctable
from hub.errors import HubError
from hub.privacy import redact
from hub.privacy.mask import mask_payload
from hub.store import audit, deadletters, records

#: the shortest reason an operator may give for seeing personal data unmasked
MIN_REASON = 10


class LetterError(HubError):
    """A dead-letter action that cannot be done as asked (no such letter, no reason)."""


@dataclass(frozen=True)
class Shown:
    row: Any
    #: the payload as shown: masked unless revealed
    payload: Any
    revealed: bool
    #: a record waiting for an operator's choice: the items to choose from (no identity)
    offer: dict | None = None


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def reveal_reason(text: str | None) -> str:
    """The reason to reveal, whitespace folded and identity codes redacted; a
    :class:`LetterError` when it is too short to say anything."""
    reason = _words(text)
    if len(reason) < MIN_REASON:
        raise LetterError(
            f"state why you need to see the personal data ({MIN_REASON} characters at least);"
            " the reason is written to the access log"
        )
    return redact(reason)


def letter(hub: Hub, letter_id: int):
    with hub.store.transaction() as conn:
        row = deadletters.get(conn, letter_id)
    if row is None:
        raise LetterError(f"no dead letter {letter_id}")
    return row


def show(hub: Hub, letter_id: int, actor: str, reveal: str | None = None) -> Shown:
    """A dead letter with its payload — the kept source record, or for a record that failed
    at delivery the record as the hub holds it — masked, or unmasked when ``reveal`` gives a
    reason (:func:`reveal_reason`). What was shown, and why, goes to the access log."""
    reason = reveal_reason(reveal) if reveal is not None else None
    row = letter(hub, letter_id)
    payload = deadletters.payload_of(hub.keys, row)
    with hub.store.transaction() as conn:
        if payload is None and row.record_id:
            stored = records.load(conn, hub.keys, [row.record_id]).get(row.record_id)
            payload = stored.data if stored else None
        audit.log_access(
            conn,
            actor=actor,
            action="reveal" if reason else "read",
            purpose=reason or f"inspect dead letter {row.id} (masked)",
            items=[audit.Access(None, row.record_id)],
            exchange=row.exchange,
        )
    offer = payload if row.stage == "disclose" and isinstance(payload, dict) else None
    shown = payload if reason else mask_payload(payload)
    return Shown(row, shown, bool(reason), offer)


def export(hub: Hub, letter_id: int, actor: str, reason: str) -> Any:
    """The letter's payload in the form a replay takes corrected
    (:func:`hub.engine.replay.correctable`), unmasked for an operator to edit: a reveal,
    so it needs a reason (:func:`reveal_reason`) and goes to the access log as one."""
    why = reveal_reason(reason)
    row = letter(hub, letter_id)
    try:
        payload = correctable(hub, row)
    except NotCorrectable as exc:
        raise LetterError(str(exc)) from None
    with hub.store.transaction() as conn:
        audit.log_access(
            conn,
            actor=actor,
            action="reveal",
            purpose=f"export of dead letter {row.id} for correction: {why}",
            items=[audit.Access(None, row.record_id)],
            exchange=row.exchange,
        )
    return payload


def correct(hub: Hub, letter_id: int, actor: str, text: str):
    """Replay a letter with the payload an operator corrected on the dashboard (JSON text in
    the form :func:`export` gives). The correction goes to the access log — which fields
    were changed, never their values — and then the replay's own entry."""
    from hub.engine.replay import replay

    row = letter(hub, letter_id)
    try:
        kept = correctable(hub, row)
    except NotCorrectable as exc:
        raise LetterError(str(exc)) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LetterError(f"the corrected payload is not JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(kept, dict):
        raise LetterError("the corrected payload is an object, as the one shown")
    changed = sorted(k for k in kept.keys() | payload.keys() if kept.get(k) != payload.get(k))
    what = redact(", ".join(changed))[:500] or "nothing"
    with hub.store.transaction() as conn:
        audit.log_access(
            conn,
            actor=actor,
            action="reveal",
            purpose=f"correction of dead letter {row.id}: changed {what}",
            items=[audit.Access(None, row.record_id)],
            exchange=row.exchange,
        )
    return replay(hub, [row.id], actor=actor, corrected={row.id: payload})


@dataclass(frozen=True)
class Resolved:
    letter_id: int
    ok: bool
    detail: str


def resolve(hub: Hub, letter_ids: Sequence[int], actor: str, note: str | None) -> list[Resolved]:
    """Mark dead letters resolved with a note (whitespace folded, identity codes redacted:
    a note is no place for one)."""
    text = _words(note)
    if not text:
        raise LetterError("a note is needed: say how it was resolved")
    out = []
    with hub.store.transaction() as conn:
        for letter_id in letter_ids:
            row = deadletters.get(conn, letter_id)
            if row is None:
                out.append(Resolved(letter_id, False, "no such dead letter"))
                continue
            deadletters.set_status(
                conn, letter_id, deadletters.RESOLVED, f"{actor}: {redact(text)}"
            )
            out.append(Resolved(letter_id, True, f"was {row.status}"))
    return out
