"""The municipal case system's streams: one class per kind of record.

A stream names its record type (:mod:`.mapping`: the element, the canonical entity, the
fields), which gives it its entity and the fields it carries. A stream of a record the
nightly export holds is read from the export listing (:class:`ExportStream`, paged by
:mod:`hub.paging.listing`); one the XML import takes is written in ``<import>`` documents
(:class:`ImportStream`). Every stream translates both ways: the case system's records have
one form in the export and in the import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from hub.adapter import NativeRecord, Stream, WriteItem, WriteOutcome
from hub.codelists import interruption_reason
from hub.model import CanonicalEntity, EpisodeStatus, ServiceEpisode
from hub.paging.listing import Document, Listed, ListingStream
from hub.privacy import redact
from hub.writing import BatchOutcomes
from hub_municipal import mapping as m
from hub_municipal.import_check import item_problem, valid_import
from hub_municipal.xmlformat import ImportItem, ImportResult, import_document

if TYPE_CHECKING:
    from hub_municipal.adapter import MunicipalAdapter


class CaseStream(Stream):
    """A stream of one record type of the case system. A subclass sets :attr:`record`;
    its entity, the fields it carries and those it requires (the XSD's) follow from it."""

    adapter: MunicipalAdapter
    #: the record type: its element in the schemas, its entity, its fields
    record: ClassVar[m.RecordType]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        record = cls.__dict__.get("record")
        if record is not None:
            cls.entity = record.entity
            cls.carries = record.carries()
            cls.requires = tuple(dict.fromkeys(f.canonical for f in record.required_fields))

    def to_canonical(self, record: NativeRecord) -> CanonicalEntity:
        where = f"{self.system}/{self.name}/{record.native_id}"
        return m.to_canonical(self.record, record.data, where)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.to_native(self.record, record, f"{self.system}/{self.name}")


class ExportStream(CaseStream, ListingStream):
    """A record type of the nightly export, read export by export from the listing."""

    document = "export"

    def listing(self) -> list[Listed]:
        return self.adapter.listing()

    def open(self, listed: Listed) -> AbstractContextManager[Document]:
        return self.adapter.export(listed, self.record.element)


class ImportStream(CaseStream):
    """A record type the XML import takes, delivered a batch to an ``<import>`` document."""

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Deliver ``items`` in one ``<import>`` document. A record the case system would
        refuse for a missing or invalid field is refused here, naming the field, so that it
        does not fail the rest of the batch; an idempotency key given twice is sent once."""
        outcomes = BatchOutcomes(items)
        municipality = self.adapter.municipality
        sendable = self._sendable(items, outcomes)
        document = valid_import(municipality, list(sendable.values())) if sendable else None
        if sendable and document is None:
            for key, imported in list(sendable.items()):  # which ones: each on its own
                problem = item_problem(municipality, imported)
                if problem:
                    del sendable[key]
                    outcomes.settle(
                        WriteOutcome.permanent(
                            key,
                            f"{self.system}/{self.name}: {m.describe(self.record, problem[0])} "
                            f"is not valid for the case system ({m.IMPORT_XSD.name}): "
                            f"{problem[1]}",
                        )
                    )
        if sendable:
            if document is None:
                document = import_document(municipality, list(sendable.values()))
            for result in self.adapter.post_import(document):
                self._settle(outcomes, result)
        return outcomes.result("the case system returned no result")

    def _sendable(
        self, items: Sequence[WriteItem], outcomes: BatchOutcomes
    ) -> dict[str, ImportItem]:
        """The items to send by key, the first of each key; one that lacks a field the
        case system requires is refused (settled) instead, naming the field."""
        sendable: dict[str, ImportItem] = {}
        seen: set[str] = set()
        for item in items:
            key = item.idempotency_key
            if key in seen:
                continue
            seen.add(key)
            missing = m.missing_required(self.record, item.payload)
            if missing:
                names = ", ".join(f"{f.native} ({f.canonical})" for f in missing)
                outcomes.settle(
                    WriteOutcome.permanent(
                        key,
                        f"{self.system}/{self.name}: the case system requires {names}, which "
                        "the record lacks or the exchange may not send",
                    )
                )
                continue
            sendable[key] = ImportItem(self.record.element, key, item.native_id, dict(item.payload))
        return sendable

    def _settle(self, outcomes: BatchOutcomes, result: ImportResult) -> None:
        """Settle the verdict the case system gave for one item. Another status than
        accepted, duplicate or rejected is no verdict: the item is left transient."""
        if result.status in (m.ACCEPTED, m.DUPLICATE):
            outcomes.settle(WriteOutcome.ok(result.key, native_id=result.record_id))
        elif result.status == m.REJECTED:
            reason = redact(result.reason or "no reason given")
            outcomes.settle(
                WriteOutcome.permanent(
                    result.key,
                    f"{self.system}/{self.name}: the case system rejected the record: {reason}",
                )
            )


class Clients(ExportStream, ImportStream):
    name = "clients"
    record = m.CLIENT
    description = "<client> records: the people the municipality's social services serve"


class ServiceEpisodes(ExportStream, ImportStream):
    name = "service_episodes"
    record = m.EPISODE
    description = "<episode> records: rehabilitative work activity and social rehabilitation"

    def to_canonical(self, record: NativeRecord) -> CanonicalEntity:
        """The episode; an interrupted one without the case system's ``interruptionCode``
        (one the employment authority's period made: only its text) is coded from its text
        by the hub's code list, as the employment authority's periods are, so that the same
        episode reads the same from both systems (unknown text: no code)."""
        episode = super().to_canonical(record)
        if (
            isinstance(episode, ServiceEpisode)
            and episode.status == EpisodeStatus.INTERRUPTED
            and episode.interruption_code is None
            and (code := interruption_reason(episode.interruption_reason)) is not None
        ):
            episode = episode.model_copy(update={"interruption_code": code})
        return episode


class ActivationPlans(ExportStream, ImportStream):
    name = "activation_plans"
    record = m.PLAN
    description = "<plan> records: activation plans agreed with the client"


class AttendanceWeeks(ExportStream):
    name = "attendance"
    record = m.ATTENDANCE
    description = "<attendance> records: attended and absent days of one episode in a week"


class Assessments(ExportStream):
    name = "assessments"
    record = m.ASSESSMENT
    description = "<assessment> records: Kykyviisari self-assessments"


class FollowUps(ExportStream):
    name = "follow_ups"
    record = m.FOLLOW_UP
    description = "<followUp> records: where a client was 3 and 6 months after an episode ended"


class FeedbackForms(ExportStream):
    name = "feedback"
    record = m.FEEDBACK
    description = "<feedback> records: clients' satisfaction with an episode (1-4)"


class DisclosureProhibitions(ExportStream):
    name = "disclosure_prohibitions"
    record = m.DISCLOSURE_PROHIBITION
    description = (
        "<luovutuskielto> records: clients' prohibitions of disclosing their social-welfare "
        "data between organisations"
    )


class IncomeSupportMonths(ExportStream):
    name = "income_support_months"
    record = m.INCOME_SUPPORT
    description = (
        "<incomeSupport> records: the months a client received basic, supplementary or "
        "preventive income support"
    )


class BillingLines(ImportStream):
    name = "billing_lines"
    record = m.BILLING_LINE
    description = "<billingLine> records: lines of Kela's monthly bill to the municipality"


class BenefitDayCounts(ImportStream):
    name = "benefit_days"
    record = m.BENEFIT_DAYS
    description = "<benefitDays> records: Kela's counts of a client's benefit days"


class KelaNotifications(ImportStream):
    name = "kela_notifications"
    record = m.KELA_NOTICE
    description = "<kelaNotice> records: Kela's notices of a need for social work or support"


class ActivationPlanObligations(ImportStream):
    name = "activation_plan_obligations"
    record = m.PLAN_OBLIGATION
    description = (
        "<planObligation> records: the activation plans the law requires (189/2001 § 3), "
        "who needs one by when, as the hub derives them"
    )


class BillDisputes(ImportStream):
    name = "bill_disputes"
    record = m.BILL_DISPUTE
    description = (
        "<billDispute> records: the lines of Kela's monthly bill the municipality should "
        "dispute, each with its reason (the hub's reconciliation report)"
    )


#: the streams of the case system, in the order of the schemas
STREAMS: tuple[type[CaseStream], ...] = (
    Clients,
    ServiceEpisodes,
    ActivationPlans,
    AttendanceWeeks,
    Assessments,
    FollowUps,
    FeedbackForms,
    DisclosureProhibitions,
    IncomeSupportMonths,
    BillingLines,
    BenefitDayCounts,
    KelaNotifications,
    ActivationPlanObligations,
    BillDisputes,
)
