"""The canonical model.

``ENTITIES`` maps the names of the core's own entities to their classes. Plugins may add
entities of their own (hook ``hub_register_entities``); the core registers these through
the same hook (:mod:`hub.model.plugin`). Code that looks an entity up by name uses the
registry of all of them, :func:`hub.plugins.entity_registry`, not ``ENTITIES``.
"""

from hub.model.activity import (
    FEEDBACK_SCALE,
    FOLLOW_UP_MONTHS,
    KYKYVIISARI_SCALES,
    Assessment,
    Attendance,
    Feedback,
    FollowUp,
    iso_week_of,
)
from hub.model.benefits import (
    BenefitDays,
    BenefitType,
    BillingLine,
    Notification,
    NotificationKind,
)
from hub.model.consent import DisclosureProhibition
from hub.model.employment import Eligibility, LabourPolicyStatement
from hub.model.entities import (
    MOVED_ON,
    ActivationPlan,
    CanonicalEntity,
    Client,
    EpisodeOutcome,
    EpisodeStatus,
    InterruptionReason,
    Organisation,
    OrganisationKind,
    PlanType,
    ServiceEpisode,
    ServiceType,
)
from hub.model.obligations import (
    ActivationPlanObligation,
    IncomeSupportKind,
    IncomeSupportMonth,
    ObligationTrigger,
)
from hub.model.practice import (
    CATEGORISED,
    CONFIDENTIAL,
    COUNTS,
    SMALL_COUNT,
    SUPPRESSED,
    Indicator,
    IndicatorCode,
    PracticeModel,
    Section,
    Suppression,
)
from hub.model.reconciliation import BillDispute, DisputeReason

#: the core's own entities by name (all registered entities: hub.plugins.entity_registry)
ENTITIES: dict[str, type[CanonicalEntity]] = {
    cls.entity_name: cls
    for cls in (
        Client,
        Organisation,
        ServiceEpisode,
        ActivationPlan,
        Attendance,
        Assessment,
        FollowUp,
        Feedback,
        BenefitDays,
        BillingLine,
        Notification,
        DisclosureProhibition,
        LabourPolicyStatement,
        PracticeModel,
        Indicator,
        IncomeSupportMonth,
        ActivationPlanObligation,
        BillDispute,
    )
}

__all__ = [
    "CATEGORISED",
    "CONFIDENTIAL",
    "COUNTS",
    "ENTITIES",
    "FEEDBACK_SCALE",
    "FOLLOW_UP_MONTHS",
    "KYKYVIISARI_SCALES",
    "MOVED_ON",
    "SMALL_COUNT",
    "SUPPRESSED",
    "ActivationPlan",
    "ActivationPlanObligation",
    "Assessment",
    "Attendance",
    "BenefitDays",
    "BenefitType",
    "BillDispute",
    "BillingLine",
    "CanonicalEntity",
    "Client",
    "DisputeReason",
    "DisclosureProhibition",
    "Eligibility",
    "EpisodeOutcome",
    "EpisodeStatus",
    "Feedback",
    "FollowUp",
    "IncomeSupportKind",
    "IncomeSupportMonth",
    "Indicator",
    "IndicatorCode",
    "InterruptionReason",
    "LabourPolicyStatement",
    "Notification",
    "NotificationKind",
    "ObligationTrigger",
    "Organisation",
    "OrganisationKind",
    "PlanType",
    "PracticeModel",
    "Section",
    "ServiceEpisode",
    "ServiceType",
    "Suppression",
    "iso_week_of",
]
