"""The hub's store as a target: what an exchange reads is kept there and sent nowhere.

One kept stream per registered canonical entity (``kept_service_episode`` …), made when the
adapter's streams are first asked for. Such a stream does not deliver (``delivers = False``):
the records are already in the store once the exchange has read them, so the engine queues
nothing for it, and its ``write`` has nothing left to do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hub.adapter import NativeRecord, Stream, WriteItem, WriteOutcome
from hub.model import CanonicalEntity


class KeptStream(Stream):
    """Records of one entity kept in the hub's store."""

    delivers = False

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(record)

    def to_canonical(self, record: NativeRecord) -> CanonicalEntity:
        return self.entity.model_validate(record.data)

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Every item is kept: the store holds it since it was read."""
        return [WriteOutcome.ok(item.idempotency_key) for item in items]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _kept(entity: type[CanonicalEntity]) -> type[KeptStream]:
    return type(
        f"Kept{entity.entity_name}",
        (KeptStream,),
        {
            "name": f"kept_{_snake(entity.entity_name)}",
            "entity": entity,
            "description": f"{entity.entity_name} records kept in the hub, sent nowhere",
            "__module__": __name__,
        },
    )


def kept_streams() -> list[type[KeptStream]]:
    """A kept stream for every registered entity."""
    from hub.plugins import entity_registry

    return [_kept(entity) for _, entity in sorted(entity_registry().items())]
