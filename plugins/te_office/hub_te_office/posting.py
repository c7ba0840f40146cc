"""Writing to the service: batches posted with one idempotency key per item.

The service takes a write as ``POST {path}`` with ``{batch_key: [item, ...]}``, each item
carrying its ``idempotencyKey``, and answers ``{"results": [...]}``, one result per item
(``accepted``, ``duplicate``: the key came before, ``rejected``, or ``failed``: not stored
this time). :class:`PostedStream` does this for every written stream (the period
notifications, the activation-plan obligations); a subclass names its path, its batch key
and the native id of its results, and decides in :meth:`PostedStream.problem` what is never
sent. Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from hub import jsonsafe
from hub.adapter import Stream, WriteItem, WriteOutcome
from hub.privacy import redact
from hub.writing import BatchOutcomes
from hub_te_office import mapping as m

if TYPE_CHECKING:
    from hub_te_office.adapter import TeOfficeAdapter


class PostedStream(Stream):
    """A stream the service takes in posted batches (written, never read)."""

    adapter: TeOfficeAdapter
    #: the service path below the base URL
    path: ClassVar[str]
    #: the batch envelope's key: ``{batch_key: [...]}``
    batch_key: ClassVar[str]
    #: the field of a result holding the service's id of the stored item, given back as the
    #: outcome's ``native_id`` (None: the hub does not keep it)
    result_id: ClassVar[str | None] = None

    def problem(self, key: str, payload: Mapping[str, Any]) -> WriteOutcome | None:
        """Why an item is not sent (skipped or permanently failed), or None to send it."""
        return None

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        outcomes = BatchOutcomes(items)
        for item in items:
            problem = self.problem(item.idempotency_key, item.payload)
            if problem is not None:
                outcomes.settle(problem)
        batch = [{**item.payload, m.N_KEY: item.idempotency_key} for item in outcomes.pending()]
        if batch:
            for result in self._results({self.batch_key: batch}):
                key = result.get(m.N_KEY) if type(result) is dict else None
                if type(key) is str and key:
                    outcomes.settle(outcome(result, self.result_id))
        return outcomes.result()

    def _results(self, payload: Mapping[str, Any]) -> list[Any]:
        """The per-item results of a batch (an answer without them is transient: the items
        may have been stored; resending them with the same keys is safe)."""
        return jsonsafe.results_of(
            lambda: self.adapter.request("POST", self.path, m.MAX_PAGE_BYTES, json=payload)[1],
            what=f"{self.system} POST {self.path}",
            key=m.BATCH_RESULTS,
        )


def outcome(result: Mapping[str, Any], result_id: str | None = None) -> WriteOutcome:
    """One per-item result of the service as an outcome; a result that is not strict JSON is
    no verdict (transient: the same key is judged again). ``result_id``: the result's field
    holding the service's id of the item, given back as the outcome's ``native_id``."""
    key, kind = result[m.N_KEY], result.get(m.R_RESULT)
    flawed = jsonsafe.flaw(result)
    if flawed is not None:
        return WriteOutcome.transient(
            key, f"its result is not strict JSON: {flawed.field}: {flawed.message}"
        )
    reason = redact(str(result.get(m.R_REASON) or kind or "no result"))  # the service's words
    if kind in (m.RESULT_ACCEPTED, m.RESULT_DUPLICATE):
        native_id = result.get(result_id) if result_id else None
        return WriteOutcome.ok(key, native_id if type(native_id) is str and native_id else None)
    if kind == m.RESULT_REJECTED:
        return WriteOutcome.permanent(key, f"rejected by the employment authority: {reason}")
    return WriteOutcome.transient(key, f"not stored this time: {reason}")
