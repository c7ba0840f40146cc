"""Replaying many dead letters in the background, with progress.

A replay of more letters than one page of the dashboard holds would keep a request open for
minutes; :func:`start` records a job (:mod:`hub.store.replay_jobs`) and replays the letters in
a thread of the process, :data:`CHUNK` at a time (:func:`hub.engine.replay.replay`: each
chunk's deliveries sent at its end, every letter under its exchange's lease, every read in
the access log), moving the job's counts on as it goes. Any process of the dashboard shows
the progress from the store. If the process stops, the job is seen as stalled and the
letters not yet replayed stay open: replaying them again is safe (replays are idempotent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from hub.engine.context import Hub
from hub.engine.replay import replay
from hub.privacy import redact
from hub.store import replay_jobs

log = logging.getLogger(__name__)

#: letters replayed, and their deliveries sent, at a time
CHUNK = 50


def start(hub: Hub, letter_ids: Sequence[int], *, actor: str, selection: str) -> int:
    """Record a job for ``letter_ids`` and replay them in a background thread; its id."""
    ids = list(letter_ids)
    with hub.store.transaction() as conn:
        job_id = replay_jobs.create(conn, actor, selection, len(ids))
    thread = threading.Thread(
        target=run, args=(hub, job_id, ids, actor), name=f"replay-job-{job_id}", daemon=True
    )
    thread.start()
    return job_id


def run(hub: Hub, job_id: int, letter_ids: Sequence[int], actor: str) -> None:
    """Replay ``letter_ids`` as job ``job_id``, moving its counts on after every letter."""
    done = replayed = not_replayed = 0

    def moved(_letter_id: int) -> None:
        nonlocal done
        done += 1
        with hub.store.transaction() as conn:
            replay_jobs.advance(
                conn,
                job_id,
                done=min(done, len(letter_ids)),
                replayed=replayed,
                not_replayed=not_replayed,
            )

    try:
        for at in range(0, len(letter_ids), CHUNK):
            chunk = letter_ids[at : at + CHUNK]
            before = done
            results = replay(hub, chunk, actor=actor, on_each=moved)
            done = before + len(chunk)
            mine = [r for r in results if r.letter_id]
            replayed += sum(1 for r in mine if r.ok)
            not_replayed += sum(1 for r in mine if not r.ok)
            with hub.store.transaction() as conn:
                replay_jobs.advance(
                    conn, job_id, done=done, replayed=replayed, not_replayed=not_replayed
                )
        with hub.store.transaction() as conn:
            replay_jobs.finish(conn, job_id, replay_jobs.FINISHED)
    except Exception as exc:  # the job says so; the letters not replayed stay open
        log.exception("replay job %s failed", job_id)
        with hub.store.transaction() as conn:
            replay_jobs.finish(conn, job_id, replay_jobs.FAILED, redact(str(exc))[:500])
