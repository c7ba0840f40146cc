"""The JSON Schemas of the canonical entities under ``schemas/canonical/``.

They are generated from the pydantic models (``hub schemas export``) and committed, so that
other systems can validate against them; a test fails when a file and its model drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.model import ENTITIES
from hub.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas" / "canonical"


def schema_of(entity: str) -> dict[str, Any]:
    schema = ENTITIES[entity].model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:fi:hub:schema:canonical:{entity}",
        **schema,
    }


def render(entity: str) -> str:
    return json.dumps(schema_of(entity), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def schema_path(entity: str) -> Path:
    return SCHEMA_DIR / f"{entity}.schema.json"


def write_schemas() -> list[Path]:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for entity in ENTITIES:
        path = schema_path(entity)
        path.write_text(render(entity), encoding="utf-8")
        written.append(path)
    return written
