"""The JSON Schemas of the canonical entities, ``schemas/canonical/`` of the ``hub`` package.

They are generated from the pydantic models (``hub schemas export``) and committed, so that
other systems can validate against them; a test fails when a file and its model drift apart.
The ``hub`` wheel carries them: :func:`schema_path` finds the installed file through
:mod:`importlib.resources`.

``hub schemas export`` is developer tooling: it writes into the source tree of the checkout
the hub runs from (``hub/schemas/canonical/``), and refuses to run from an installed wheel,
where there is no source tree to write into (it would change ``site-packages``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.model import ENTITIES
from hub.resources import PackagedFile, source_checkout

#: where the canonical schemas are, below the ``hub`` package
SCHEMA_PARTS = ("schemas", "canonical")


def schema_of(entity: str) -> dict[str, Any]:
    """The JSON Schema of any registered entity, a plugin's too (generated from its model;
    the files under ``hub/schemas/canonical/`` are the core's own, committed)."""
    from hub.plugins import entity_registry

    schema = entity_registry()[entity].model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:fi:hub:schema:canonical:{entity}",
        **schema,
    }


def render(entity: str) -> str:
    return json.dumps(schema_of(entity), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def file_name(entity: str) -> str:
    return f"{entity}.schema.json"


def schema_path(entity: str) -> PackagedFile:
    """The committed schema of ``entity`` as the installed ``hub`` package carries it."""
    return PackagedFile("hub", *SCHEMA_PARTS, file_name(entity))


def source_schema_dir() -> Path:
    """``hub/schemas/canonical/`` of the source checkout the hub runs from; ConfigError when
    the hub is installed from a wheel (there is no source tree to write into)."""
    checkout = source_checkout()
    if checkout is None:
        installed = Path(__file__).resolve().parents[1]
        raise ConfigError(
            f"hub schemas export writes the canonical schemas into the source tree "
            f"(hub/schemas/canonical/ of a checkout), but this hub is installed at {installed}, "
            f"not run from a checkout: run it in the repository (uv run hub schemas export)"
        )
    return checkout.joinpath("hub", *SCHEMA_PARTS)


def write_schemas() -> list[Path]:
    """Write every entity's schema into the source checkout (developer tooling)."""
    directory = source_schema_dir()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for entity in ENTITIES:
        path = directory / file_name(entity)
        path.write_text(render(entity), encoding="utf-8")
        written.append(path)
    return written
