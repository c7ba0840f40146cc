"""What a client has decided about their own data: disclosure prohibitions."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import Field, model_validator

from hub.model.entities import CanonicalEntity, ServiceType
from hub.model.types import IdentityCode


class DisclosureProhibition(CanonicalEntity):
    """A client's prohibition of disclosing their social-welfare data between organisations
    (luovutuskielto, Act 703/2023), as recorded by the case system that holds the data.

    It covers the client's data *of the system it came from* (that system's controller is
    the one the client addressed): no record of that origin about the client leaves the hub
    for another system while the prohibition is in force, from ``valid_from`` to the day
    before ``revoked_on``. ``service_types`` narrows it to the data of those services; empty,
    it covers all of the client's data held by that system.
    """

    entity_name: ClassVar[str] = "DisclosureProhibition"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    valid_from: dt.date
    revoked_on: dt.date | None = None
    service_types: list[ServiceType] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _revoked_after_given(self) -> DisclosureProhibition:
        if self.revoked_on is not None and self.revoked_on < self.valid_from:
            raise ValueError("revoked_on is before valid_from")
        return self

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.revoked_on is None or day < self.revoked_on)

    def covers(self, service_type: str | None) -> bool:
        """Whether the prohibition covers data of ``service_type`` (None: data of no one
        service, e.g. the client's basic data: covered only by a prohibition of all)."""
        return not self.service_types or service_type in self.service_types
