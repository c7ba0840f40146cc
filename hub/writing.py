"""Writing a batch: one outcome per item, whatever the target answers.

A target that takes a batch and answers item by item (or not at all for some) is the rule;
:class:`BatchOutcomes` keeps the contract of :meth:`hub.adapter.Stream.write` for it: a
verdict is settled once per idempotency key (the first one counts; a verdict for a key that
was not sent is no verdict), items the stream decides itself (skipped, refused before
sending) are settled before the call, and an item the target gave no verdict for is
transient: the same key is sent again, which the target recognises.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.adapter import WriteItem, WriteOutcome


class BatchOutcomes:
    """The outcomes of one batch of :class:`WriteItem` s, settled as they are known."""

    def __init__(self, items: Sequence[WriteItem]):
        self.items = list(items)
        self._sent = {item.idempotency_key for item in self.items}
        self._settled: dict[str, WriteOutcome] = {}

    def settle(self, outcome: WriteOutcome) -> None:
        """Record ``outcome`` for its key, unless that key was not sent or is settled."""
        key = outcome.idempotency_key
        if key in self._sent and key not in self._settled:
            self._settled[key] = outcome

    def settle_all(self, outcomes: Iterable[WriteOutcome]) -> None:
        for outcome in outcomes:
            self.settle(outcome)

    def pending(self) -> list[WriteItem]:
        """The items without a verdict yet, in their order."""
        return [item for item in self.items if item.idempotency_key not in self._settled]

    def result(self, unanswered: str = "no result was returned for it") -> list[WriteOutcome]:
        """One outcome per item, in the items' order; an unsettled one is transient."""
        return [
            self._settled.get(item.idempotency_key)
            or WriteOutcome.transient(item.idempotency_key, unanswered)
            for item in self.items
        ]
