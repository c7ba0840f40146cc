"""The releases of indicators, per exchange: what each family of figures was released as,
kept so that a revision can be checked against every earlier release
(:mod:`hub.indicators.release`). Each release is encrypted whole: its digests are keyed to
the people's subject ids."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, func, insert, select

from hub.indicators import FamilyKey, Release
from hub.privacy import Keyring
from hub.store import schema as t

#: the context the payloads are bound to (key rotation re-encrypts them under it)
CONTEXT = b"indicator-release"
r = t.indicator_releases


def load(conn: Connection, keys: Keyring, exchange: str) -> dict[FamilyKey, list[Release]]:
    """Every release ``exchange`` made, oldest first per family."""
    out: dict[FamilyKey, list[Release]] = {}
    rows = conn.execute(
        select(r.c.practice_model, r.c.period_start, r.c.period_end, r.c.grp, r.c.payload)
        .where(r.c.exchange == exchange)
        .order_by(r.c.practice_model, r.c.period_start, r.c.grp, r.c.seq)
    ).all()
    for model, start, end, grp, payload in rows:
        data = json.loads(keys.decrypt(bytes(payload), context=CONTEXT))
        out.setdefault((model, start, end, grp), []).append(Release.from_json(data))
    return out


def save_new(
    conn: Connection,
    keys: Keyring,
    exchange: str,
    before: dict[FamilyKey, list[Release]],
    after: dict[FamilyKey, list[Release]],
    stamp: dt.datetime,
) -> int:
    """Store the releases in ``after`` that ``before`` did not hold; how many."""
    rows = []
    for key, history in after.items():
        known = len(before.get(key, ()))
        for seq, release in enumerate(history[known:], start=known + 1):
            body = json.dumps(release.to_json(), sort_keys=True, separators=(",", ":"))
            model, start, end, grp = key
            rows.append(
                {
                    "practice_model": model,
                    "period_start": start,
                    "period_end": end,
                    "grp": grp,
                    "seq": seq,
                    "released_at": stamp,
                    "exchange": exchange,
                    "payload": keys.encrypt(body.encode(), context=CONTEXT),
                }
            )
    if rows:
        conn.execute(insert(r), rows)
    return len(rows)


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(r)).scalar_one()
