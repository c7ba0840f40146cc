"""The engine: runs of exchanges (extract and deliver), and replays of failed records."""

from hub.engine.context import Hub
from hub.engine.replay import replay
from hub.engine.run import RunSummary, run_exchange, run_phase

__all__ = ["Hub", "RunSummary", "replay", "run_exchange", "run_phase"]
