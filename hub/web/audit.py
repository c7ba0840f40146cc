"""A client's log extract on the dashboard (Act 703/2023 § 11), for auditors only: a form
takes the identity code (posted, never in a URL), the page shows the extract (the code
masked) and offers it as an HTML document and a CSV to download.

Reading the logs needs the ``auditor`` role (:data:`Auditor`; viewers and operators get 403),
and every reading is written to the access log by :func:`hub.audit.extract.make_extract`.
The downloads carry no identity code either: the page holds a copy token, the code and
period encrypted with the hub's key for this user only, valid for :data:`COPY_SECONDS`; a
download gives a copy of the extract shown (same rows, same reference), logged as another
reading of the logs.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import time
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Form, HTTPException
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from hub.audit import extract
from hub.web.auth import needs, sent_by
from hub.web.rendering import View

#: how long the download buttons of an extract shown keep working
COPY_SECONDS = 30 * 60
MEDIA = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}

router = APIRouter(prefix="/audit")


#: reading the logs needs the auditor role (Act 703/2023: staff whose duties require it)
auditor = needs("auditor")
auditor_post = sent_by(auditor)


Auditor = Annotated[View, Depends(auditor)]
AuditorPost = Annotated[View, Depends(auditor_post)]


def _controller() -> str:
    return os.environ.get(extract.CONTROLLER_ENV, "")


@router.get("", response_class=HTMLResponse, name="audit")
def form(view: Auditor):
    return view.page("audit.html", error=None, x=None, controller=_controller())


@router.post("", response_class=HTMLResponse, name="audit_extract")
def make(
    view: AuditorPost,
    code: Annotated[str, Form()] = "",
    first: Annotated[str, Form()] = "",
    last: Annotated[str, Form()] = "",
    controller: Annotated[str, Form()] = "",
):
    try:
        period = extract.Period.parse(first or None, last or None)
        made = extract.make_extract(
            view.hub,
            code.strip(),
            reader=view.user,
            actor=view.actor,
            period=period,
            controller=controller,
        )
    except extract.ExtractError as exc:
        return view.page(
            "audit.html", status_code=400, error=str(exc), x=None, controller=controller
        )
    return view.page(
        "audit.html",
        error=None,
        x=made,
        body=Markup(made.body_html()),  # rendered by an autoescaping template
        token=_copy_token(view, code.strip(), made),
        controller=made.controller,
    )


@router.post("/download", name="audit_download")
def download(
    view: AuditorPost, token: Annotated[str, Form()] = "", fmt: Annotated[str, Form()] = ""
):
    if fmt not in extract.FORMATS:
        raise HTTPException(400, f"format must be one of {', '.join(extract.FORMATS)}")
    code, period, reference, controller, made_at = _read_copy_token(view, token)
    copy = extract.make_extract(
        view.hub,
        code,
        reader=view.user,
        actor=view.actor,
        period=period,
        controller=controller,
        copy_of=reference,
    )
    copy = dataclasses.replace(copy, made_at=made_at)  # a copy of the extract made then
    return Response(
        copy.render(fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{copy.stem}.{fmt}"'},
    )


def _context(view: View) -> bytes:
    assert view.user is not None
    return b"hub.web.audit/copy\x00" + view.user.username.encode()


def _copy_token(view: View, code: str, made: extract.Extract) -> str:
    data = {
        "code": code,
        "start": made.period.start.isoformat(),
        "end": made.period.end.isoformat(),
        "reference": made.reference,
        "controller": made.controller,
        "made_at": made.made_at.isoformat(),
        "expires": time.time() + COPY_SECONDS,
    }
    blob = view.hub.keys.encrypt(json.dumps(data).encode(), context=_context(view))
    return base64.urlsafe_b64encode(blob).decode()


def _read_copy_token(
    view: View, token: str
) -> tuple[str, extract.Period, int | None, str, dt.datetime]:
    try:
        blob = base64.urlsafe_b64decode(token.encode())
        data = json.loads(view.hub.keys.decrypt(blob, context=_context(view)))
        period = extract.Period(
            dt.datetime.fromisoformat(data["start"]), dt.datetime.fromisoformat(data["end"])
        )
        made_at = dt.datetime.fromisoformat(data["made_at"])
        fresh = float(data["expires"]) > time.time()
    except (ValueError, KeyError, TypeError, InvalidTag):
        raise HTTPException(400, "this download is not valid: make the extract again") from None
    if not fresh:
        raise HTTPException(400, "this download has expired: make the extract again")
    return data["code"], period, data["reference"], data["controller"], made_at
