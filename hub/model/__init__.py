"""The canonical model. ``ENTITIES`` maps entity names to their classes."""

from hub.model.entities import (
    ActivationPlan,
    CanonicalEntity,
    Client,
    EpisodeStatus,
    Organisation,
    OrganisationKind,
    ServiceEpisode,
    ServiceType,
)

ENTITIES: dict[str, type[CanonicalEntity]] = {
    cls.entity_name: cls for cls in (Client, Organisation, ServiceEpisode, ActivationPlan)
}

__all__ = [
    "ENTITIES",
    "ActivationPlan",
    "CanonicalEntity",
    "Client",
    "EpisodeStatus",
    "Organisation",
    "OrganisationKind",
    "ServiceEpisode",
    "ServiceType",
]
