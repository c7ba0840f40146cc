"""Services that take items from the municipality and answer one result per item, by the
item's key: the attendance report (:mod:`.attendance`) and the labour-policy statements
(:mod:`.statements`).

A batch goes in one request, each item carrying its idempotency key (``tunniste``; a key
given twice in a batch is sent once). Kela answers item by item: accepted, a duplicate of
an accepted key (nothing stored again), or rejected with a reason; an item it gives no
verdict for is sent again (:class:`hub.writing.BatchOutcomes`). A fault of the whole request
raises (transient or permanent, :func:`.soap.fault_error`); results that break Kela's
contract are transient (the items may have been stored: they are sent again with the same
keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree

from hub.adapter import WriteItem, WriteOutcome
from hub.errors import TransientError
from hub.privacy import redact
from hub.writing import BatchOutcomes
from hub_kela import mapping as m
from hub_kela.contract import why_invalid
from hub_kela.soap import k

if TYPE_CHECKING:
    from hub_kela.adapter import KelaAdapter

#: an item's element from its key and payload
Element = Callable[[str, Mapping[str, Any]], etree._Element]


def send(
    adapter: KelaAdapter, service: str, element: Element, items: Sequence[WriteItem]
) -> list[WriteOutcome]:
    """Send ``items`` to ``service`` in one request; one outcome per item."""
    outcomes = BatchOutcomes(items)
    body = adapter.request_body(service)
    sent: set[str] = set()
    for item in items:
        if item.idempotency_key not in sent:  # a key given twice is one item
            sent.add(item.idempotency_key)
            body.append(element(item.idempotency_key, item.payload))
    answer = adapter.call(service, body)
    if why := why_invalid(answer):
        # the items may have been stored: sending them again with the same keys is safe
        raise TransientError(
            f"{m.SYSTEM}/{service}: the results are not valid against {m.PROVIDER}'s schema: {why}"
        )
    for result in answer.iterchildren(k(m.RESULT)):
        key, state = result.get(m.ITEM_KEY_ATTR), result.get(m.RESULT_STATE_ATTR)
        if not key:
            continue
        if state in (m.ACCEPTED, m.DUPLICATE):
            outcomes.settle(WriteOutcome.ok(key))
        elif state == m.REJECTED:
            reason = redact(result.text or "no reason given")
            outcomes.settle(WriteOutcome.permanent(key, f"refused by {m.PROVIDER}: {reason}"))
        else:
            outcomes.settle(WriteOutcome.transient(key, f"not stored: {state}"))
    return outcomes.result()


def simple_element(
    name: str, key: str, payload: Mapping[str, Any], order: Iterable[str]
) -> etree._Element:
    """An item ``<name tunniste="key">`` with the children of ``order`` the payload has."""
    elem = etree.Element(k(name), {m.ITEM_KEY_ATTR: key})
    for native in order:
        if payload.get(native) is not None:
            etree.SubElement(elem, k(native)).text = str(payload[native])
    return elem
