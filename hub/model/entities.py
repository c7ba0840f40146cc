"""The canonical entities: what every adapter translates to and from.

Every entity is immutable, forbids unknown fields and hides input values in validation
errors (so an invalid identity code never appears in an error message). References between
entities use natural keys that all Finnish systems share: the client's identity code and the
provider's business ID. Canonical ids are given by the store, not by the model.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.model.types import (
    BusinessId,
    IdentityCode,
    MunicipalityCode,
    NonEmptyText,
    PracticeModelId,
)


class CanonicalEntity(BaseModel):
    """Base of all canonical entities."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        str_strip_whitespace=True,
        use_enum_values=True,
    )

    #: Name used in configuration, the store and the schemas.
    entity_name: ClassVar[str]
    #: The field holding the client's identity code, if the entity is about one person.
    subject_field: ClassVar[str | None] = None

    def subject(self) -> str | None:
        return getattr(self, self.subject_field) if self.subject_field else None


class ServiceType(StrEnum):
    """Services the hub follows. Social rehabilitation per Social Welfare Act 1301/2014 § 17;
    the employment services per the Act on Organising Employment Services (380/2023), which
    the employment areas have applied since 1.1.2025."""

    REHABILITATIVE_WORK_ACTIVITY = "rehabilitative_work_activity"  # KTT, law 189/2001
    SOCIAL_REHABILITATION_INDIVIDUAL = "social_rehabilitation_individual_coaching"
    SOCIAL_REHABILITATION_GROUP = "social_rehabilitation_group_coaching"
    SOCIAL_REHABILITATION_INTENSIFIED = "social_rehabilitation_intensified_work"
    WORK_TRIAL = "work_trial"  # työkokeilu, Act on Organising Employment Services 380/2023
    #: palkkatuki, paid to the employer: 380/2023 (before 2025 the Act on Public Employment
    #: and Business Service 916/2012), each as applicable to the period
    PAY_SUBSIDY = "pay_subsidy"
    COACHING = "coaching"  # valmennus, Act on Organising Employment Services 380/2023
    #: työvoimakoulutus, Act on Organising Employment Services 380/2023
    LABOUR_MARKET_TRAINING = "labour_market_training"


class EpisodeStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    INTERRUPTED = "interrupted"
    ENDED = "ended"


class EpisodeOutcome(StrEnum):
    """Where the client went when the episode ended (the transitions the indicators count),
    or where a client was at a follow-up."""

    EMPLOYMENT = "employment"  # work on the open labour market
    PAY_SUBSIDY = "pay_subsidy"  # pay-subsidised work (palkkatuki)
    WORK_TRIAL = "work_trial"  # work trial (työkokeilu)
    EDUCATION = "education"  # training or studies
    OTHER_SERVICE = "other_service"  # another employment or social service
    NO_CHANGE = "no_change"
    UNKNOWN = "unknown"


#: outcomes that count as moving on to work, training or another service
MOVED_ON = frozenset(
    {
        EpisodeOutcome.EMPLOYMENT,
        EpisodeOutcome.PAY_SUBSIDY,
        EpisodeOutcome.WORK_TRIAL,
        EpisodeOutcome.EDUCATION,
        EpisodeOutcome.OTHER_SERVICE,
    }
)


class InterruptionReason(StrEnum):
    """Why an episode was interrupted: the hub's code list (no national code list exists;
    ``hub/schemas/codelists/interruption-reasons.json`` gives the Finnish and Swedish terms
    each source system's free text is coded from)."""

    HEALTH = "health"  # terveydelliset syyt
    LIFE_SITUATION = "life_situation"  # elämäntilanne: housing, substance use, family
    ABSENCES = "absences"  # toistuvat poissaolot
    OWN_DECISION = "own_decision"  # asiakkaan oma päätös
    MOVED_AWAY = "moved_away"  # muutti pois
    TRANSFERRED = "transferred"  # siirtyi työhön, koulutukseen tai toiseen palveluun
    OTHER = "other"


class OrganisationKind(StrEnum):
    MUNICIPALITY = "municipality"
    WELLBEING_SERVICES_COUNTY = "wellbeing_services_county"
    EMPLOYMENT_AREA = "employment_area"
    SERVICE_PROVIDER = "service_provider"
    STATE_AGENCY = "state_agency"


class Client(CanonicalEntity):
    """A person served by the employment and social services."""

    entity_name: ClassVar[str] = "Client"
    subject_field: ClassVar[str | None] = "hetu"

    hetu: IdentityCode
    first_name: NonEmptyText | None = None
    last_name: NonEmptyText | None = None
    home_municipality: MunicipalityCode | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$", description="ISO 639-1")


class Organisation(CanonicalEntity):
    """A municipality, wellbeing services county, employment area or service provider."""

    entity_name: ClassVar[str] = "Organisation"

    business_id: BusinessId
    name: NonEmptyText
    kind: OrganisationKind
    municipality_code: MunicipalityCode | None = None


class ServiceEpisode(CanonicalEntity):
    """A period of rehabilitative work activity or social rehabilitation for one client."""

    entity_name: ClassVar[str] = "ServiceEpisode"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    service_type: ServiceType
    provider_business_id: BusinessId | None = None
    decision_date: dt.date | None = None
    start_date: dt.date | None = None
    planned_end_date: dt.date | None = None
    actual_end_date: dt.date | None = None
    days_per_week: int | None = Field(default=None, ge=0, le=7)
    hours_per_day: float | None = Field(default=None, ge=0, le=24)
    status: EpisodeStatus
    #: the date the client was referred to the service (lähete, ohjaus): the waiting time
    #: runs from it to ``start_date``
    referral_date: dt.date | None = None
    interruption_reason: NonEmptyText | None = None
    #: the coded reason of an interruption (``interruption_reason`` is the free text)
    interruption_code: InterruptionReason | None = None
    #: the municipality responsible for the client's service (the home municipality when
    #: the episode started): the indicators' breakdown by municipality
    municipality_code: MunicipalityCode | None = None
    #: the Innokylä practice model the episode follows (e.g. one of OsKu's work-activity models)
    practice_model: PracticeModelId | None = None
    outcome: EpisodeOutcome | None = None

    def key(self) -> tuple[str, str, dt.date | None]:
        """The natural key other records use to refer to the episode: client, service, start."""
        return (str(self.client_hetu), str(self.service_type), self.start_date)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceEpisode:
        if self.outcome and self.status not in (EpisodeStatus.INTERRUPTED, EpisodeStatus.ENDED):
            raise ValueError("outcome is only given when the episode has ended or was interrupted")
        if self.start_date and self.planned_end_date and self.planned_end_date < self.start_date:
            raise ValueError("planned_end_date is before start_date")
        if self.start_date and self.actual_end_date and self.actual_end_date < self.start_date:
            raise ValueError("actual_end_date is before start_date")
        if self.decision_date and self.start_date and self.start_date < self.decision_date:
            raise ValueError("start_date is before decision_date")
        if self.referral_date and self.start_date and self.start_date < self.referral_date:
            raise ValueError("start_date is before referral_date")
        if self.referral_date and self.decision_date and self.decision_date < self.referral_date:
            raise ValueError("decision_date is before referral_date")
        if self.interruption_code and self.status != EpisodeStatus.INTERRUPTED:
            raise ValueError("interruption_code is only given when status is interrupted")
        if self.status == EpisodeStatus.INTERRUPTED and not self.interruption_reason:
            raise ValueError("interruption_reason is required when status is interrupted")
        if self.status in (EpisodeStatus.INTERRUPTED, EpisodeStatus.ENDED) and not (
            self.actual_end_date
        ):
            raise ValueError(f"actual_end_date is required when status is {self.status}")
        if self.status != EpisodeStatus.PLANNED and not self.start_date:
            raise ValueError(f"start_date is required when status is {self.status}")
        return self


class PlanType(StrEnum):
    """Which plan agreed with the client an :class:`ActivationPlan` is."""

    ACTIVATION_PLAN = "activation_plan"  # aktivointisuunnitelma, law 189/2001
    #: monialainen työllistymissuunnitelma, law 381/2023 (before 2025 the TYP law 1369/2014)
    MULTISECTORAL_EMPLOYMENT_PLAN = "multisectoral_employment_plan"
    EMPLOYMENT_PLAN = "employment_plan"  # työllistymissuunnitelma, law 380/2023


class ActivationPlan(CanonicalEntity):
    """An activation plan, multisectoral employment plan or employment plan agreed with the
    client (``plan_type``; records that do not say are activation plans)."""

    entity_name: ClassVar[str] = "ActivationPlan"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    plan_type: PlanType = PlanType.ACTIVATION_PLAN
    drawn_up_date: dt.date
    goals: list[NonEmptyText] = Field(min_length=1)
    measures: list[NonEmptyText] = Field(default_factory=list)
    responsible_official: NonEmptyText
    review_date: dt.date | None = None

    @model_validator(mode="after")
    def _review_after_drawing_up(self) -> ActivationPlan:
        if self.review_date and self.review_date < self.drawn_up_date:
            raise ValueError("review_date is before drawn_up_date")
        return self
