"""The reading side of an extract: a stream's records read from the source, translated,
validated and prepared for the store (keyed pseudonyms, canonical JSON, hashes, encryption),
batch by batch — in a worker process while this process stores the batch before, or here.

Reading and preparing a record costs about as much as storing it, so on two cores the
worker (:mod:`hub.engine.workers`) nearly doubles the rate of a bulk load. It sends each
prepared batch through a pipe that holds about one batch, so it stays one batch ahead and
memory stays flat. Where processes cannot be forked, or the exchange says
``parallel: false``, the same steps run here, one after the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hub.adapter import INCREMENTAL
from hub.engine.context import Hub
from hub.engine.translate import Translated, failure_of, translate
from hub.engine.workers import Channel, Worker, can_fork, reraise
from hub.errors import TransientError
from hub.exchanges import EntityFlow, Exchange, source_stream
from hub.store import records
from hub.store.deadletters import Failure


@dataclass
class Staged:
    """A batch read and prepared for the store, and the records of it that failed."""

    prepared: list[records.Prepared] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    read: int = 0

    def __getstate__(self) -> tuple:  # through the pipe as plain tuples: three times faster
        return [tuple(p) for p in self.prepared], self.failures, self.read

    def __setstate__(self, state: tuple) -> None:
        prepared, self.failures, self.read = state
        self.prepared = list(map(records.Prepared._make, prepared))


def stage(hub: Hub, system: str, stream: str, items: Sequence[Translated | Failure]) -> Staged:
    """Prepare the translated records of one batch for the store (no database needed). A
    record that cannot be written as canonical JSON fails alone (a dead letter)."""
    good, failures, translated = [], [], {}
    for item in items:
        if type(item) is Translated:
            good.append((item.record.native_id, item.entity))
            translated[item.record.native_id] = item
        else:
            failures.append(item)

    def unwritable(native_id: str, error: Exception) -> None:
        item = translated[native_id]
        failures.append(
            failure_of(
                item.record,
                system,
                stream,
                item.entity.entity_name,
                "read",
                "contract",
                None,
                "holds text that cannot be stored (not valid Unicode)",
            )
        )

    prepared = records.prepare(hub.keys, system, good, on_error=unwritable)
    return Staged(prepared, failures, len(items))


def _prepared(
    hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
) -> Iterator[tuple[Staged, str | None]]:
    """(prepared batch, cursor after it) of the stream since ``cursor``, in this process."""
    with hub.adapter(exchange.source, exchange) as adapter:
        source, rules = adapter.stream(stream), hub.rules
        for batch in source.read(cursor, exchange.batch_size):
            items = [translate(source, rules, r) for r in batch.records]
            yield stage(hub, source.system, stream, items), batch.next_cursor


@contextlib.contextmanager
def prepared_batches(
    hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
) -> Iterator[Iterator[tuple[Staged, str | None]]]:
    """The stream's prepared batches since ``cursor``, with the cursor after each.

    Read here until a batch's worth of records has come (most runs read a night's few
    changes: no process is started for them); if the stream goes on and the exchange is
    ``parallel`` (and this system can fork), a worker reads the rest from the cursor of the
    last batch read here. A stream read whole on every run (``replication = "full"``) is
    read here: its position cannot be handed on."""
    inline = _prepared(hub, exchange, flow, stream, cursor)
    resumable = source_stream(exchange, flow).replication == INCREMENTAL
    if not (exchange.parallel and resumable and can_fork()):
        yield inline
        return
    workers: list[_ReadingWorker] = []

    def batches() -> Iterator[tuple[Staged, str | None]]:
        read = 0
        for staged, next_cursor in inline:
            yield staged, next_cursor
            read += staged.read
            if read >= exchange.batch_size:
                inline.close()  # its adapter and connection are closed
                workers.append(_ReadingWorker(hub, exchange, flow, stream, next_cursor))
                yield from workers[0].batches()
                return

    try:
        yield batches()
    finally:
        inline.close()
        for worker in workers:
            worker.stop()


class _ReadingWorker:
    """The rest of a stream, read and prepared by a :class:`~hub.engine.workers.Worker`."""

    def __init__(
        self, hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
    ):
        def work(channel: Channel) -> None:  # pragma: no cover - runs in the worker
            for staged, next_cursor in _prepared(hub, exchange, flow, stream, cursor):
                channel.send(("batch", staged, next_cursor))
            channel.send(("end",))

        self.worker = Worker(work, name=f"{exchange.name}: reading {exchange.source}/{stream}")

    def batches(self) -> Iterator[tuple[Staged, str | None]]:
        while True:
            message = self.worker.channel.receive()
            if message is None:
                raise TransientError("the reading worker ended without finishing the stream")
            kind = message[0]
            if kind == "batch":
                yield message[1], message[2]
            elif kind == "end":
                self.worker.finished = True
                return
            else:
                self.worker.finished = True
                reraise(*message[1:])

    def stop(self) -> None:
        self.worker.stop()


__all__ = ["Staged", "prepared_batches", "stage"]
