"""The activation-plan obligations the hub derives, as the employment authority receives them.

The hub's own end derives who needs an activation plan by when (189/2001 § 3; the hub's
stream ``activation_plan_obligations``, :class:`hub.model.ActivationPlanObligation`). The
employment authority, which draws the plan up with the municipality, receives them posted
in batches (:class:`.posting.PostedStream`), one idempotency key per obligation: the person,
the condition met (a trigger code), the day it was met, the day the plan is due, the age on
that day, whether a plan was drawn up (and when), and whether the days counted were taken to
fall inside the rule's window. A repeated key is the earlier obligation, not a new one; a
changed obligation (a plan drawn up since) is a new version with a key of its own.

Every invented name is in :mod:`.mapping` (``OBLIGATION_FIELDS``, ``TRIGGER_CODES``); the
translations both ways are here, on the helpers of :mod:`.codec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.adapter import NativeRecord, WriteOutcome
from hub.model import ActivationPlanObligation
from hub.model.obligations import WINDOWED
from hub_te_office import mapping as m
from hub_te_office.codec import code_of, coded, copied, flag_of, number_of, required_value
from hub_te_office.posting import PostedStream

F = m.OBLIGATION_FIELDS
#: canonical trigger -> native trigger code
TRIGGER_CODE_OF = {v: k for k, v in m.TRIGGER_CODES.items()}
#: the trigger codes whose days are counted inside a window (the only ones that may say the
#: window was assumed)
WINDOWED_CODES = frozenset(code for code, trigger in m.TRIGGER_CODES.items() if trigger in WINDOWED)
#: the canonical fields an obligation cannot be sent without (the authority works out the
#: age from the identity code; the window flag is false when left out)
REQUIRED = ("client_hetu", "trigger", "reached_on", "due_by", "has_plan")


def obligation_to_canonical(where: str, data: Mapping[str, Any]) -> ActivationPlanObligation:
    """An obligation as the service holds it, as the canonical entity (the round trip of
    what this stream writes); errors name the record ``where`` and the native field."""
    age = F["age_on_reached"]
    required_value(data, age, where)  # missing: named as the service names it
    return ActivationPlanObligation(
        client_hetu=required_value(data, F["client_hetu"], where),
        trigger=code_of(m.TRIGGER_CODES, data, F["trigger"], where),
        reached_on=required_value(data, F["reached_on"], where),
        due_by=required_value(data, F["due_by"], where),
        age_on_reached=number_of(data, age, where, whole=True),
        has_plan=flag_of(data, F["has_plan"], where, required=True),
        window_assumed=flag_of(data, F["window_assumed"], where) or False,
        **copied(data, F, "plan_drawn_up"),
    )


def obligation_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A native obligation from the canonical one restricted to the fields the exchange
    allows. Never raises: what is missing or unknown is left out, and :func:`problem`
    decides whether the obligation can be sent."""
    return coded(record, F, {"trigger": TRIGGER_CODE_OF})


def problem(key: str, payload: Mapping[str, Any]) -> WriteOutcome | None:
    """Why an obligation is not sent (permanently failed, naming the canonical fields), or
    None to send it."""
    missing = [field for field in REQUIRED if payload.get(F[field]) is None]
    if payload.get(F["has_plan"]) is True and payload.get(F["plan_drawn_up"]) is None:
        missing.append("plan_drawn_up")
    if not missing:
        return None
    return WriteOutcome.permanent(
        key,
        f"field {', '.join(missing)} is missing: an activation-plan obligation needs it "
        "(absent from the record, or not allowed by the exchange)",
    )


class ActivationPlanObligationsStream(PostedStream):
    """The activation plans the law requires, sent to the authority (written, never read)."""

    name = "activation_plan_obligations"
    entity = ActivationPlanObligation
    description = "activation plans the law requires (189/2001 § 3): who, by when, drawn up or not"
    carries = tuple(F)
    requires = REQUIRED
    path = m.PATH_OBLIGATIONS
    batch_key = m.BATCH_OBLIGATIONS
    result_id = m.O_ID

    def to_canonical(self, record: NativeRecord) -> ActivationPlanObligation:
        """An obligation this stream wrote, read back (the conformance kit's round trip)."""
        return obligation_to_canonical(m.ref(self.name, record.native_id), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return obligation_to_native(record)

    def problem(self, key: str, payload: Mapping[str, Any]) -> WriteOutcome | None:
        return problem(key, payload)
