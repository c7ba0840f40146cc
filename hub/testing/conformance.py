"""The adapter conformance kit: the contract every adapter must pass, against its sandbox.

PYTEST_DONT_REWRITE: a failing assertion here shows its own message only, never the
records it compared (they may hold identity codes).

Like Airbyte's connector acceptance tests, the suite is generic: an adapter's test module
subclasses :class:`AdapterConformance`, names the system and supplies what only the adapter
knows — a cursor past everything the sandbox holds, and canonical records its writable
streams accept::

    from hub.paging.keyset import encode_keyset
    from hub.testing.conformance import AdapterConformance

    class TestMySystemConformance(AdapterConformance):
        system_id = "my_system"
        future_cursors = {"clients": encode_keyset("2999-01-01T00:00:00Z", "")}

        def write_samples(self, stream):
            return [Client(hetu="010190-999W", first_name="Testi")]

pytest collects the inherited tests for each subclass. They run over real HTTP against the
sandbox the plugin registers (the ``sandboxes`` fixture), and check:

- ``check()`` succeeds against the sandbox and fails without raising against a closed port;
- every readable stream pages (≥ 2 batches at a small batch size, a cursor after each, no
  record twice) and resumes from a cursor with exactly the records after it;
- a cursor in the future gives no records;
- canonical → native → canonical loses nothing, on the fields the stream carries
  (:attr:`hub.adapter.Stream.carries`), for every writable stream and every readable
  stream the adapter can also translate to its native form;
- writing the same records twice with the same idempotency keys stores them once;
- transient failures (outage, rate limit with ``Retry-After``) raise
  :class:`~hub.errors.TransientError` or give transient outcomes; refused writes give
  permanent outcomes; malformed records fail translation as invalid records, not crashes;
- no identity code of any record read or written appears in any log record.

The kit's own failure messages never quote a record's values: reasons the adapter gives are
shown through :func:`hub.privacy.redact`, so a failing run prints no identity code either.

The sandbox must honour :class:`hub.sandbox.Faults` and list accepted writes under
``/_sandbox/received`` with their ``idempotency_key``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from hub.adapter import (
    INCREMENTAL,
    Adapter,
    Batch,
    NativeRecord,
    Outcome,
    Stream,
    SystemConfig,
    WriteItem,
)
from hub.errors import PermanentError, RecordError, TransientError
from hub.model import CanonicalEntity
from hub.privacy import redact
from hub.sandbox import free_port

#: records read per stream at most, to keep the suite quick on big sandboxes
READ_LIMIT = 400


def _fields(spec_carries: Sequence[str] | None, entity: type[CanonicalEntity]) -> list[str]:
    return list(spec_carries) if spec_carries is not None else list(entity.model_fields)


def _translates_both_ways(stream: type[Stream]) -> bool:
    """Whether the stream can turn a canonical record into its native form and back."""
    return (
        stream.to_native is not Stream.to_native and stream.to_canonical is not Stream.to_canonical
    )


def _compare(before: Mapping[str, Any], after: Mapping[str, Any], fields: Sequence[str]) -> dict:
    """Fields whose values differ (names only: values may be personal)."""
    return {f: "differs" for f in fields if before.get(f) != after.get(f)}


class AdapterConformance:
    """Base class of an adapter's conformance tests. Subclasses set :attr:`system_id`,
    :attr:`future_cursors` and implement :meth:`write_samples` if the adapter writes."""

    #: the adapter's system id; its plugin must register an adapter and a sandbox for it
    system_id: ClassVar[str]
    #: per readable stream, a cursor after everything the sandbox holds
    future_cursors: ClassVar[Mapping[str, str]] = {}
    #: batch size for the paging tests
    page_size: ClassVar[int] = 5

    def write_samples(self, stream: str) -> list[CanonicalEntity]:
        """Canonical records the sandbox accepts on ``stream`` (a writable stream)."""
        raise NotImplementedError(
            f"{type(self).__name__}.write_samples: give records for writable stream {stream!r}"
        )

    # -- fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def sandbox(self, sandboxes):
        if self.system_id not in sandboxes:
            pytest.fail(f"no sandbox is registered for system {self.system_id!r}")
        return sandboxes

    @pytest.fixture
    def adapter(self, sandbox) -> Iterator[Adapter]:
        adapter = self.make_adapter(sandbox[self.system_id].base_url, sandbox)
        try:
            yield adapter
        finally:
            adapter.close()

    def make_adapter(self, base_url: str, sandboxes) -> Adapter:
        from hub.plugins import adapter_registry

        registry = adapter_registry()
        if self.system_id not in registry:
            pytest.fail(f"no adapter is registered for system {self.system_id!r}")
        options = dict(sandboxes[self.system_id].sandbox.adapter_options)
        config = SystemConfig(self.system_id, base_url, options, timeout=10, deadline=60)
        return registry[self.system_id](config, None)  # as the engine does, without a run

    # -- helpers -----------------------------------------------------------------------------

    def readable(self, adapter: Adapter) -> list[str]:
        """The streams read since a cursor (a stream read whole on every run,
        ``replication = "full"``, keeps no cursor: the paging tests pass it over)."""
        return [
            s.name
            for s in type(adapter).stream_classes().values()
            if s.readable and s.replication == INCREMENTAL
        ]

    def writable(self, adapter: Adapter) -> list[str]:
        return [s.name for s in type(adapter).stream_classes().values() if s.writable]

    @staticmethod
    def read_all(
        adapter: Adapter, stream: str, cursor: str | None, batch_size: int, limit: int
    ) -> list[Batch]:
        batches, count = [], 0
        for batch in adapter.stream(stream).read(cursor, batch_size):
            batches.append(batch)
            count += len(batch.records)
            if count >= limit:
                break
        return batches

    def items_for(self, adapter: Adapter, stream: str, tag: str) -> list[WriteItem]:
        samples = self.write_samples(stream)
        assert samples, f"write_samples({stream!r}) gave no records"
        spec = adapter.stream(stream)
        fields = _fields(spec.carries, spec.entity)
        items = []
        for i, sample in enumerate(samples):
            data = {
                k: v
                for k, v in sample.model_dump(mode="json").items()
                if k in fields and v is not None
            }
            key = f"conformance:{tag}:{stream}:{i}"
            items.append(WriteItem(key, f"rec-{i}", spec.to_native(data)))
        return items

    # -- the contract ------------------------------------------------------------------------

    def test_declares_streams(self, adapter):
        assert type(adapter).stream_classes(), "an adapter offers at least one stream"
        problems = type(adapter).problems()
        assert not problems, "; ".join(problems)
        missing = set(self.readable(adapter)) - set(self.future_cursors)
        assert not missing, f"future_cursors lacks readable streams {sorted(missing)}"

    def test_check_succeeds_against_the_sandbox(self, adapter):
        result = adapter.check()
        assert result.ok, redact(result.detail)
        assert result.detail, "check() says nothing about what it reached"

    def test_check_fails_without_raising_when_unreachable(self, sandbox):
        adapter = self.make_adapter(f"http://127.0.0.1:{free_port()}", sandbox)
        try:
            result = adapter.check()
        finally:
            adapter.close()
        assert not result.ok, "check() succeeded against a closed port"
        assert result.detail, "check() does not say why it failed"

    def test_reads_in_pages_and_resumes_from_a_cursor(self, adapter):
        for stream in self.readable(adapter):
            batches = self.read_all(adapter, stream, None, self.page_size, READ_LIMIT)
            ids = [r.native_id for b in batches for r in b.records]
            assert len(batches) >= 2, f"{stream}: expected several pages, got {len(batches)}"
            assert all(b.next_cursor for b in batches), f"{stream}: a batch without a cursor"
            assert len(ids) == len(set(ids)), f"{stream}: a record was read twice"
            for b in batches:
                assert all(isinstance(r, NativeRecord) for r in b.records), (
                    f"{stream}: a batch holds something that is not a NativeRecord"
                )
            rest = self.read_all(
                adapter, stream, batches[0].next_cursor, self.page_size, READ_LIMIT
            )
            rest_ids = [r.native_id for b in rest for r in b.records]
            expected = ids[len(batches[0].records) :]
            n = min(len(expected), len(rest_ids))
            assert rest_ids[:n] == expected[:n], f"{stream}: resuming gave other records"
            assert not set(rest_ids) & {r.native_id for r in batches[0].records}, (
                f"{stream}: resuming re-read the first page"
            )

    def test_a_cursor_in_the_future_gives_nothing(self, adapter):
        for stream in self.readable(adapter):
            reading = adapter.stream(stream).read(self.future_cursors[stream], self.page_size)
            batches = list(reading)
            assert sum(len(b.records) for b in batches) == 0, f"{stream}: records after the end"

    def test_round_trip_keeps_every_carried_field(self, adapter):
        checked = 0
        for stream_class in type(adapter).stream_classes().values():
            spec, stream = adapter.stream(stream_class.name), stream_class.name
            fields = _fields(spec.carries, spec.entity)
            if not _translates_both_ways(stream_class):
                continue
            if spec.writable:
                originals = self.write_samples(stream)
            else:
                first = next(iter(spec.read(None, self.page_size)), None)
                assert first is not None, f"{stream}: the sandbox holds no records"
                originals = [spec.to_canonical(r) for r in first.records]
            for i, original in enumerate(originals):
                data = {
                    k: v
                    for k, v in original.model_dump(mode="json").items()
                    if k in fields and v is not None
                }
                native = spec.to_native(data)
                back = spec.to_canonical(NativeRecord(f"round-trip-{i}", native))
                assert isinstance(back, spec.entity), (
                    f"{stream}: the round trip gave no {spec.entity.entity_name}"
                )
                diff = _compare(data, back.model_dump(mode="json"), list(data))
                assert not diff, f"{stream}: the round trip changed {sorted(diff)}"
                checked += 1
        assert checked, "no stream could be round-tripped"

    def test_writes_are_idempotent(self, adapter, sandbox):
        for stream in self.writable(adapter):
            items = self.items_for(adapter, stream, "idem")
            first = adapter.stream(stream).write(items)
            second = adapter.stream(stream).write(items)
            for outcomes in (first, second):
                assert [o.idempotency_key for o in outcomes] == [
                    i.idempotency_key for i in items
                ], f"{stream}: write() did not give one outcome per item, in their order"
                bad = [o for o in outcomes if o.outcome not in (Outcome.OK, Outcome.SKIPPED)]
                assert not bad, f"{stream}: {bad[0].outcome}: {redact(bad[0].reason)}"
            delivered = {o.idempotency_key for o in first if o.outcome == Outcome.OK}
            received = [
                e["idempotency_key"]
                for e in sandbox.received(self.system_id)
                if e.get("idempotency_key") in delivered
            ]
            assert sorted(received) == sorted(delivered), (
                f"{stream}: the target holds {len(received)} entries for {len(delivered)} keys"
            )

    def test_outage_and_rate_limit_are_transient(self, adapter, sandbox):
        sandbox.faults(self.system_id, unavailable=True, retry_after=3)
        for stream in self.readable(adapter):
            with pytest.raises(TransientError) as caught:
                self.read_all(adapter, stream, None, self.page_size, self.page_size)
            assert caught.value.retry_after == 3, f"{stream}: Retry-After was not honoured"
        for stream in self.writable(adapter):
            items = self.items_for(adapter, stream, "outage")
            try:
                outcomes = adapter.stream(stream).write(items)
            except TransientError:
                continue
            sent = [o for o in outcomes if o.outcome != Outcome.SKIPPED]
            assert all(o.outcome == Outcome.TRANSIENT for o in sent), (
                f"{stream}: {[(o.outcome, redact(o.reason)) for o in sent]}"
            )
        assert not adapter.check().ok, "check() succeeded against a system that is down"
        sandbox.faults(self.system_id, rate_limit_every=1, retry_after=7)
        for stream in self.readable(adapter)[:1]:
            with pytest.raises(TransientError) as caught:
                self.read_all(adapter, stream, None, self.page_size, self.page_size)
            assert caught.value.retry_after == 7, f"{stream}: Retry-After was not honoured"

    def test_refused_writes_are_permanent(self, adapter, sandbox):
        sandbox.faults(self.system_id, reject_writes=True)
        for stream in self.writable(adapter):
            items = self.items_for(adapter, stream, "refused")
            try:
                outcomes = adapter.stream(stream).write(items)
            except PermanentError:
                continue
            sent = [o for o in outcomes if o.outcome != Outcome.SKIPPED]
            assert sent, f"{stream}: nothing was sent"
            assert all(o.outcome == Outcome.PERMANENT and o.reason for o in sent), (
                f"{stream}: {[o.outcome for o in sent]}"
            )
        assert not sandbox.received(self.system_id), "the sandbox kept writes it refused"

    def test_malformed_records_fail_as_invalid_records(self, adapter, sandbox):
        sandbox.faults(self.system_id, malformed_every=1)
        for stream in self.readable(adapter):
            batches = self.read_all(adapter, stream, None, self.page_size, self.page_size * 2)
            records = [r for b in batches for r in b.records]
            assert records, f"{stream}: nothing read"
            failed = 0
            for record in records:
                try:
                    adapter.stream(stream).to_canonical(record)
                except (RecordError, ValidationError):
                    failed += 1
            assert failed, f"{stream}: malformed records were accepted"

    def test_nothing_personal_in_logs(self, adapter, caplog):
        caplog.set_level(logging.DEBUG)
        codes: set[str] = set()
        for stream in self.readable(adapter):
            for batch in self.read_all(adapter, stream, None, 50, 100):
                for record in batch.records:
                    try:
                        entity = adapter.stream(stream).to_canonical(record)
                    except (RecordError, ValidationError):
                        continue
                    if entity.subject():
                        codes.add(str(entity.subject()))
        for stream in self.writable(adapter):
            codes.update(str(s.subject()) for s in self.write_samples(stream) if s.subject())
            adapter.stream(stream).write(self.items_for(adapter, stream, "logs"))
        adapter.check()
        logged = "\n".join(
            r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records
        )
        leaked = [c for c in codes if c in logged]
        assert not leaked, f"{len(leaked)} identity codes appear in the logs"
