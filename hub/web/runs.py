"""An exchange's run history (paged, newest first) and one run with its batches and the
records that failed in it."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from hub.errors import HubError
from hub.store import deadletters, heldback, runs
from hub.web.auth import Viewer

#: runs (and a run's failed records) on one page
PAGE = 50

router = APIRouter()


@router.get("/exchanges/{name}", response_class=HTMLResponse, name="exchange")
def exchange(view: Viewer, name: str, before: str | None = None):
    try:
        declared = view.hub.config.exchange(name)
    except HubError:
        raise HTTPException(404, "no such exchange") from None
    try:
        started_before = dt.datetime.fromisoformat(before) if before else None
    except ValueError:
        raise HTTPException(400, "before is a time (ISO 8601)") from None
    with view.hub.store.transaction() as conn:
        history = runs.list_runs(conn, name, limit=PAGE, before=started_before)
        held = heldback.summary(conn, exchange=name)
    older = history[-1].started_at.isoformat() if len(history) == PAGE else None
    return view.page("exchange.html", x=declared, runs=history, older=older, held=held)


@router.get("/runs/{run_id}", response_class=HTMLResponse, name="run")
def run(view: Viewer, run_id: str):
    in_run = deadletters.DeadLetterFilter(status=None, run_id=run_id)
    with view.hub.store.transaction() as conn:
        found = runs.get_run(conn, run_id)
        if found is None:
            raise HTTPException(404, "no such run")
        batches = runs.batches_of(conn, run_id)
        letters = deadletters.list_letters(conn, in_run, limit=PAGE)
        held = heldback.summary(conn, run_id=run_id)
    return view.page("run.html", run=found, batches=batches, letters=letters, held=held)
