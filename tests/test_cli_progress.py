"""The progress `hub exchanges run` shows: the phase and its running counts, from a real
run against the sandboxes."""

from __future__ import annotations

import logging

from hub.cli.output import ProgressHandler
from hub.engine import Hub, run_exchange


def test_progress_shows_the_phase_and_running_counts(hub_env):
    shown: list[str] = []
    handler = ProgressHandler(shown.append)
    engine = logging.getLogger("hub.engine")
    engine.addHandler(handler)
    engine.setLevel(logging.INFO)  # as `hub exchanges run` sets it
    hub = Hub.open()
    try:
        summary = run_exchange(hub, "employment_authority_to_county")
    finally:
        engine.removeHandler(handler)
        engine.setLevel(logging.NOTSET)
        hub.close()
    extract = [s for s in shown if s.startswith("extract: ")]
    deliver = [s for s in shown if s.startswith("deliver: ")]
    assert extract and deliver
    # the last of each phase is the run's total
    assert extract[-1].startswith(f"extract: {summary.read:,} read".replace(",", " "))
    assert deliver[-1].startswith(f"deliver: {summary.delivered:,} delivered".replace(",", " "))
    assert all("·" in s for s in shown)
