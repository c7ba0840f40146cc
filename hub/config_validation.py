"""Checks of the exchanges file for the mistakes that would otherwise pass and fail later.

Each is one function, used by :mod:`hub.exchanges` (so by ``hub exchanges validate``, the
Airflow DAG file and the engine alike):

- :func:`load_yaml`: a key given twice in one mapping is refused, naming the line and the
  key (PyYAML would silently keep the last: a second exchange of the same name replaced
  the first);
- :func:`schedule_problem`: a schedule is what Airflow 3 turns into a timetable: ``None``,
  ``@once``, ``@continuous``, one of Airflow's cron presets, or a cron expression croniter
  accepts (Airflow's own test, ``CronMixin.validate``). A schedule Airflow refuses does not
  fail the DAG file: the DAG is silently left out, so it is refused here first;
- :func:`options_problems`: a system's ``options`` against the JSON Schema its adapter
  declares (:attr:`hub.adapter.Adapter.options_schema`);
- :func:`required_field_problems`: the fields a target stream needs in every record
  (:attr:`hub.adapter.Stream.requires`) are among the fields the exchange may send.

None of them imports Airflow or a plugin: what needs the plugins is given to them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml
from croniter import CroniterError, croniter

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.adapter import Adapter, SystemConfig

#: Airflow 3's cron presets (``airflow.sdk.definitions.timetables._cron.CRON_PRESETS``):
#: Airflow replaces these by their expression before croniter sees them
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
#: schedules Airflow 3 turns into a timetable of their own, not a cron one
SPECIAL_SCHEDULES = ("@once", "@continuous")
#: the five fields of a cron expression and the numbers each allows (croniter: 7 = Sunday)
CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


# --- duplicate keys -----------------------------------------------------------------------


def load_yaml(path: Path, text: str) -> Any:
    """The YAML document ``text`` of ``path``; a key given twice in one mapping is a
    :class:`ConfigError` naming the file, the line and the key's place."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_duplicates(path, node, "", set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _refuse_duplicates(path: Path, node: yaml.Node, where: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias of a node already checked
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicates(path, item, f"{where}/{i}" if where else str(i), seen)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    first_line: dict[tuple[str, str], int] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            line = key.start_mark.line + 1
            before = first_line.setdefault((key.tag, key.value), line)
            if before != line:
                raise ConfigError(_duplicate_message(path, where, key.value, before, line))
            inner = f"{where}/{key.value}" if where else key.value
        else:
            inner = where
        _refuse_duplicates(path, value, inner, seen)


def _duplicate_message(path: Path, where: str, key: str, first: int, again: int) -> str:
    if where == "exchanges":
        what = f"exchange {key!r} is declared twice"
    elif where == "systems":
        what = f"system {key!r} is declared twice"
    else:
        what = f"{where or '(top level)'}: key {key!r} is given twice"
    return (
        f"{path}:{again}: {what} (first on line {first}); YAML would keep only the last, "
        "so the hub refuses the file: remove or rename one"
    )


# --- schedules ----------------------------------------------------------------------------


def schedule_problem(schedule: str | None) -> str | None:
    """Why Airflow 3 would not make a timetable of ``schedule`` (None: it would)."""
    if schedule is None or schedule in SPECIAL_SCHEDULES:
        return None
    expression = CRON_PRESETS.get(schedule, schedule)
    try:
        croniter(expression)
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        return f"{schedule!r} is not a valid schedule: {_why_not(expression, exc)}"
    return None


def _why_not(expression: str, exc: Exception) -> str:
    """What is wrong with a schedule croniter refused, in the words of its fields."""
    presets = ", ".join([*SPECIAL_SCHEDULES, *CRON_PRESETS])
    if expression.startswith("@"):
        near = difflib.get_close_matches(expression, [*SPECIAL_SCHEDULES, *CRON_PRESETS], 1)
        hint = f"; did you mean {near[0]}?" if near else ""
        return f"not a preset Airflow knows (presets: {presets}){hint}"
    parts = expression.split()
    if len(parts) not in (5, 6, 7):
        return (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(parts)}; or use a preset ({presets}) or null for manual runs only"
        )
    for text, (name, low, high) in zip(parts, CRON_FIELDS, strict=False):
        for number in re.findall(r"\d+", text.split("/")[0]):
            if not low <= int(number) <= high:
                return f"{name} {number} is out of range {low}-{high}"
    return f"not a valid cron expression ({exc})"


# --- adapter options ----------------------------------------------------------------------


def options_problems(
    systems: Mapping[str, SystemConfig], registry: Mapping[str, type[Adapter]]
) -> list[str]:
    """Each system's ``options`` checked against the JSON Schema of its adapter's
    :attr:`~hub.adapter.Adapter.options_schema` (an adapter that declares none is not
    checked; one not installed is reported elsewhere)."""
    problems = []
    for name, system in systems.items():
        adapter = registry.get(system.adapter_id)
        schema = getattr(adapter, "options_schema", None)
        if schema is None:
            continue
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(dict(system.options)), key=str):
            problems.append(_option_message(f"systems/{name}/options", error, schema))
    return problems


def _option_message(where: str, error: jsonschema.ValidationError, schema: Mapping) -> str:
    place = "/".join([where, *(str(p) for p in error.absolute_path)])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        unknown = sorted(k for k in error.instance if k not in known)
        hints = [difflib.get_close_matches(k, list(known), 1) for k in unknown]
        named = ", ".join(
            f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
            for k, h in zip(unknown, hints, strict=True)
        )
        return f"{place}: unknown option {named} (options: {', '.join(known) or 'none'})"
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("oneOf", "anyOf") and described:
        return f"{place}: {described}"  # the message would repeat every option's value
    explained = f" ({described})" if error.validator == "pattern" and described else ""
    return f"{place}: {error.message}{explained}"


# --- fields a target needs ----------------------------------------------------------------


def required_field_problems(where: str, system: str, stream: Any, fields: tuple) -> list[str]:
    """The fields the target ``stream`` needs in every record it writes (its
    :attr:`~hub.adapter.Stream.requires`: the keys by which the target knows the record)
    that the exchange's ``fields`` leave out: every record would fail at delivery."""
    missing = [name for name in getattr(stream, "requires", ()) if name not in fields]
    if not missing:
        return []
    return [
        f"{where}/fields: {system}/{stream.name} needs {', '.join(missing)} in every "
        f"{stream.entity.entity_name} it takes, which the exchange does not send; add "
        f"{'it' if len(missing) == 1 else 'them'} to the allowed fields"
    ]
