"""The hub as an end of an exchange: its store, reached through the run's context."""

from __future__ import annotations

from sqlalchemy import text

from hub.adapter import Adapter, CheckResult, RunContext, Stream
from hub.ends.derived import IndicatorsStream
from hub.ends.kept import kept_streams
from hub.ends.obligations import ActivationPlanObligationsStream
from hub.ends.reconciliation import BillDisputesStream
from hub.errors import PermanentError


class HubEnd(Adapter):
    """The hub itself: what it derives as a source (indicators, activation-plan
    obligations), its store as a target."""

    system_id = "hub"
    title = "The hub itself (derived records; records kept in the store)"
    connects = False
    streams = (IndicatorsStream, ActivationPlanObligationsStream, BillDisputesStream)

    @classmethod
    def stream_classes(cls) -> dict[str, type[Stream]]:
        """The derived streams, and a kept stream for every registered entity (plugins'
        entities included)."""
        return {s.name: s for s in (*cls.streams, *kept_streams())}

    @property
    def run(self) -> RunContext:
        """The run this end serves: it reads the hub's store, so it exists only in a run."""
        if self.context is None:
            raise PermanentError("the hub's own end is used only within a run of the engine")
        return self.context

    def check(self) -> CheckResult:
        if self.context is None:
            return CheckResult(False, "the hub's own end answers only within a run")
        try:
            with self.context.hub.store.transaction() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # an unreachable store is a failed check, not a crash
            return CheckResult(False, f"the hub's store does not answer: {exc}")
        return CheckResult(True, f"the hub's store answers ({self.context.hub.store.dialect})")
