"""Replaying every open failed record a filter matches, in the background
(:mod:`hub.engine.replay_jobs`), and the page that shows how far it got."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import HTMLResponse

from hub.engine import replay_jobs
from hub.store import deadletters
from hub.store import replay_jobs as jobs
from hub.store.deadletter_filter import DeadLetterFilter
from hub.store.records import now
from hub.web.auth import OperatorPost, Viewer
from hub.web.failures import MAX_ROW_ID, letter_filter

router = APIRouter(prefix="/replays")
#: letters read per query while collecting a job's letters
BATCH = 1000


@router.post("", name="replay_all")
def replay_all(view: OperatorPost, where: Annotated[DeadLetterFilter, Depends(letter_filter)]):
    """Replay every open letter ``where`` matches (the list page's filters)."""
    ids, before = [], None
    with view.hub.store.transaction() as conn:
        while True:
            rows = deadletters.list_letters(
                conn, where, before_id=before, limit=BATCH, status=deadletters.OPEN
            )
            ids += [r.id for r in rows]
            if len(rows) < BATCH:
                break
            before = rows[-1].id
    if not ids:
        view.flash("No open failed records match")
        return view.redirect("failures")
    ids.reverse()  # oldest first, as they failed
    selection = urlencode(where.query()) or "every open record"
    job_id = replay_jobs.start(view.hub, ids, actor=view.actor, selection=selection)
    return view.redirect("replay_job", job_id=job_id)


@router.get("/{job_id}", response_class=HTMLResponse, name="replay_job")
def replay_job(view: Viewer, job_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]):
    with view.hub.store.transaction() as conn:
        job = jobs.get(conn, job_id)
    if job is None:
        raise HTTPException(404, "no such replay")
    stalled = job.stalled(now())
    running = job.state == jobs.RUNNING and not stalled
    percent = round(100 * job.done / job.total) if job.total else 100
    return view.page("replay_job.html", job=job, stalled=stalled, running=running, percent=percent)
