"""The front page: the health of every exchange and the open dead letters in all."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.ops.health import all_health
from hub.store import deadletters
from hub.web.auth import Viewer

router = APIRouter()


@router.get("/", response_class=HTMLResponse, name="overview")
def overview(view: Viewer):
    with view.hub.store.transaction() as conn:
        health = all_health(conn, view.hub.config)
        open_total = deadletters.count_letters(conn)
    return view.page("overview.html", health=health, open_total=open_total)
