"""Native record → validated canonical entity, or a failure naming the record and field."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from hub.adapter import NativeRecord, Stream, id_problem, printable_id
from hub.errors import RecordError
from hub.model import CanonicalEntity
from hub.model.rules import Rules
from hub.privacy import redact
from hub.store.deadletters import Failure


def native_ref(system: str, stream: str, native_id: str) -> str:
    return f"{system}/{stream}/{native_id}"


def describe_validation(error: ValidationError) -> tuple[str | None, str]:
    """(first field, message naming every failing field). Input values are never included."""
    parts, first = [], None
    for err in error.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or None
        first = first or loc
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return first, "; ".join(parts)


def failure_of(
    record: NativeRecord,
    system: str,
    stream: str,
    entity: str,
    stage: str,
    error_class: str,
    field: str | None,
    reason: str,
) -> Failure:
    """The dead letter of ``record``: its native payload kept as read (with its contract
    violation, so that a replay without a correction fails the same way), the reason
    naming the record and the field."""
    shown = printable_id(record.native_id)
    ref = native_ref(system, stream, shown)
    kept: dict = {"native_id": shown, "data": dict(record.data)}
    if record.problem is not None:
        kept["problem"] = {"field": record.problem.field, "message": record.problem.message}
    return Failure(
        stage=stage,
        system=system,
        stream=stream,
        error_class=error_class,
        entity=entity,
        native_ref=ref,
        field=field,
        payload=kept,
        reason=redact(f"record {ref}" + (f", field {field}" if field else "") + f": {reason}"),
    )


@dataclass(frozen=True)
class Translated:
    record: NativeRecord
    entity: CanonicalEntity


def translate(stream: Stream, rules: Rules, record: NativeRecord) -> Translated | Failure:
    """The record as a validated canonical entity, or a failure naming the record and the
    field (built only when something fails: the common path allocates nothing more).
    Streams must not change ``record.data``: a failure keeps it as the source gave it.
    A record read with a :class:`~hub.adapter.ContractViolation`, or without a usable id,
    fails at once (stage ``read``, class ``contract``)."""

    entity_name = stream.entity.entity_name

    def fail(stage: str, error_class: str, field: str | None, reason: str) -> Failure:
        return failure_of(
            record, stream.system, stream.name, entity_name, stage, error_class, field, reason
        )

    if record.problem is not None:
        return fail("read", "contract", record.problem.field, record.problem.message)
    if type(record.native_id) is not str or id_problem(record.native_id):
        return fail("read", "contract", "id", id_problem(record.native_id) or "")
    try:
        entity = stream.to_canonical(record)
    except RecordError as exc:
        return fail("translate", "invalid", exc.field, exc.message)
    except ValidationError as exc:
        field, message = describe_validation(exc)
        return fail("translate", "invalid", field, message)
    except Exception as exc:  # an adapter bug must not stop the other records
        return fail("translate", "adapter-error", None, f"{type(exc).__name__}: {exc}")
    if entity.entity_name != entity_name:
        return fail(
            "translate",
            "adapter-error",
            None,
            f"stream {stream.name} gave a {entity.entity_name}, expected {entity_name}",
        )
    violations = rules.check(entity)
    if violations:
        v = violations[0]
        reason = "; ".join(x.message if x is v else f"{x.field}: {x.message}" for x in violations)
        return fail("validate", "rule", v.field, reason)
    return Translated(record, entity)
