"""The ``labour_policy_statements`` stream: the employment authority's labour-policy
statements (työvoimapoliittinen lausunto) to Kela, written.

The employment authority (since 2025 the municipalities of an employment area) does not
decide on unemployment benefit: it states whether the labour-policy conditions of a client's
benefit are met, and Kela is bound by the statement when it decides. One statement an item:
the client, the day it was given, the period it covers, what it says (a code of Kela's), the
benefit and its ground. Kela judges each statement on its own, by its key (the idempotency
key): accepted, a duplicate of an accepted key (nothing stored again), or rejected naming
the field (:mod:`.itemized`). Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree

from hub.adapter import NativeRecord, Stream, WriteItem, WriteOutcome
from hub.errors import RecordError
from hub.model import LabourPolicyStatement
from hub_kela import itemized
from hub_kela import mapping as m
from hub_kela.contract import record_data
from hub_kela.fields import code, fields

if TYPE_CHECKING:
    from hub_kela.adapter import KelaAdapter

#: canonical field -> (canonical value -> Kela's code), for the coded fields
_CODE_OF = {
    "statement": {v: c for c, v in m.ELIGIBILITY_CODES.items()},
    "benefit_type": {v: c for c, v in m.BENEFIT_CODES.items()},
}
_CODES = {"statement": m.ELIGIBILITY_CODES, "benefit_type": m.BENEFIT_CODES}


class LabourPolicyStatementsStream(Stream):
    """Labour-policy statements sent to Kela, one item a statement."""

    name = "labour_policy_statements"
    entity = LabourPolicyStatement
    description = (
        "the employment authority's labour-policy statements on a client's unemployment "
        "benefit (työvoimapoliittinen lausunto)"
    )
    carries = m.STATEMENT_CARRIES
    #: what the statement's XSD requires (an end date and a ground are optional)
    requires = ("client_hetu", "issued_on", "valid_from", "statement", "benefit_type")
    adapter: KelaAdapter

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A statement item: the fields the record has, codes as Kela's. A value Kela has
        no code for is refused here, with the field named; what is missing is left for
        Kela to refuse, naming it."""
        where = f"{self.system}/{self.name}"
        native = {}
        for canonical, name in m.STATEMENT_FIELDS.items():
            value = record.get(canonical)
            if value is None:
                continue
            if canonical in _CODE_OF:
                if not isinstance(value, str) or value not in _CODE_OF[canonical]:
                    raise RecordError(where, canonical, f"has no code of {m.PROVIDER}'s")
                value = _CODE_OF[canonical][value]
            native[name] = value
        return native

    def to_canonical(self, record: NativeRecord) -> LabourPolicyStatement:
        """A statement item (:meth:`to_native`) read back."""
        where = f"{self.system}/{self.name}/{record.native_id}"
        values = fields(record.data, m.STATEMENT_FIELDS, where)
        for canonical, table in _CODES.items():
            native = m.STATEMENT_FIELDS[canonical]
            values[canonical] = code(table, record.data.get(native), where, native)
        return LabourPolicyStatement(**values)

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """The statements of ``items`` in one request (:func:`.itemized.send`)."""
        return itemized.send(self.adapter, m.SVC_STATEMENTS, statement_element, items)


def statement_element(key: str, payload: Mapping[str, Any]) -> etree._Element:
    """One ``<lausunto>`` of a request."""
    return itemized.simple_element(m.STATEMENT, key, payload, m.STATEMENT_FIELDS.values())


def statement_from_element(elem: etree._Element) -> dict[str, Any]:
    """The payload of a ``<lausunto>`` (the sandbox reads statements with it): everything
    the item holds (:func:`.contract.record_data`)."""
    return record_data(elem, (m.ITEM_KEY_ATTR,))
