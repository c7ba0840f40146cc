"""Key rotation: ``hub keys rotate`` and ``hub keys status``.

The operator configures a new master key as the current key and the old one as a previous
key (:mod:`hub.privacy.crypto`); from then on everything new is encrypted, pseudonymised and
hashed with the new key, and the old key only reads. :func:`rotate` then

1. records the new key as the store's current key (the old one is *retiring*);
2. re-keys the pseudonyms (people, the identity map) and re-hashes the records' content;
3. re-encrypts every encrypted column;
4. retires the old key when no row needs it any more: the operator may then remove it.

Every step goes in batches, each its own transaction that also records how far the step has
come (``key_rotation``), so a rotation interrupted anywhere goes on where it stopped when run
again. Runs go on meanwhile: they find people and records under the previous keys too, and
compare a record's content hash under the key it was made with (:mod:`hub.store.keys`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select, update

from hub.errors import ConfigError
from hub.privacy.crypto import PREVIOUS_KEYS_ENV
from hub.store import Store
from hub.store import keys as keyed
from hub.store import schema as t
from hub.store.records import now
from hub.store.rekey import steps

#: outcomes of the pseudonym steps that leave a row needing an old key
BLOCKERS = ("unmatched", "duplicate", "conflict")
#: what :func:`rotate` calls after each batch: step name, its counts so far, rows in batch
Progress = Callable[[str, Counter, int], None]


@dataclass
class Rotation:
    """What :func:`rotate` did and found."""

    key_id: bytes
    retiring: list[bytes] = field(default_factory=list)
    retired: list[bytes] = field(default_factory=list)
    #: encrypted column -> key id -> rows still encrypted with a retiring key
    remaining: dict[str, dict[bytes, int]] = field(default_factory=dict)
    #: step -> outcome -> rows
    counts: dict[str, Counter] = field(default_factory=dict)
    #: the time limit ended it before it was done (run again to go on)
    paused: bool = False

    @property
    def blocked(self) -> dict[str, int]:
        """Pseudonyms that could not be re-keyed, per step and outcome."""
        return {
            f"{step}.{outcome}": counts[outcome]
            for step, counts in self.counts.items()
            for outcome in BLOCKERS
            if counts.get(outcome)
        }


def _progress_row(conn: Connection, key_id: bytes, step: str):
    r = t.key_rotation.c
    return conn.execute(
        select(r.position, r.counts, r.finished_at).where(r.key_id == key_id, r.step == step)
    ).first()


def _save(conn, key_id: bytes, step: str, position, counts: Counter, done: bool, exists: bool):
    r, stamp = t.key_rotation.c, now()
    values = {
        "position": json.dumps(position) if position is not None else None,
        "counts": json.dumps(dict(counts), sort_keys=True),
        "updated_at": stamp,
        "finished_at": stamp if done else None,
    }
    if exists:
        conn.execute(
            update(t.key_rotation).where(r.key_id == key_id, r.step == step).values(**values)
        )
    else:
        conn.execute(
            t.key_rotation.insert().values(key_id=key_id, step=step, started_at=stamp, **values)
        )


def _run_step(store: Store, name: str, step, size: int, progress, deadline) -> Counter:
    """Run ``step`` batch by batch from where it stopped until it is done (or the
    deadline passes); its counts in total."""
    keys = store.keys
    with store.transaction() as conn:
        row = _progress_row(conn, keys.key_id, name)
    exists = row is not None
    position = json.loads(row.position) if row and row.position else None
    counts = Counter(json.loads(row.counts)) if row else Counter()
    if row and row.finished_at is not None:
        return counts
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise _Paused
        with store.transaction() as conn:
            last, batch = step(conn, keys, position, size)
            counts = +(counts + batch)  # without outcomes that did not occur
            done = last is None
            _save(conn, keys.key_id, name, last if not done else position, counts, done, exists)
        exists = True
        if done:
            return counts
        position = last
        if progress is not None:
            progress(name, counts, sum(batch.values()))


class _Paused(Exception):
    pass


def _restart(store: Store, names: list[str]) -> None:
    """Make steps start again from the first row (their earlier counts are dropped)."""
    r = t.key_rotation.c
    with store.transaction() as conn:
        conn.execute(
            t.key_rotation.delete().where(r.key_id == store.keys.key_id, r.step.in_(names))
        )


def _needing(conn: Connection, keep: set[bytes]) -> dict[str, dict[bytes, int]]:
    """Per encrypted column, rows encrypted with a key not in ``keep``."""
    out = {}
    for column, by_key in keyed.ciphertexts_by_key(conn).items():
        old = {k: n for k, n in by_key.items() if k not in keep and n}
        if old:
            out[column] = old
    return out


def _check_configured(conn: Connection, keys, retiring: list[bytes]) -> None:
    missing = sorted(
        {k for by_key in _needing(conn, set(keys.key_ids)).values() for k in by_key}
        | {k for k in retiring if k not in keys.key_ids}
    )
    if missing:
        raise ConfigError(
            "the store needs master keys this process does not have: "
            + ", ".join(k.hex() for k in missing)
            + f"; add them to {PREVIOUS_KEYS_ENV} (or the key file) until the rotation "
            "retires them"
        )


def rotate(
    store: Store,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
    allow_unmatched: bool = False,
    max_seconds: float | None = None,
) -> Rotation:
    """Rotate the store to the keyring's current key (see the module's docstring); run
    again, it goes on where an interrupted rotation stopped. ``allow_unmatched``: retire the
    old keys even though some pseudonyms could not be re-keyed (their people would no longer
    be found by identity code). ``max_seconds``: stop after about this long (resumable)."""
    if batch_size < 1:
        raise ValueError("the batch size must be 1 or more")
    keys = store.keys
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    with store.transaction() as conn:
        retiring = keyed.record_current(conn, keys, now())
        _check_configured(conn, keys, retiring)
    result = Rotation(keys.key_id, retiring=retiring)
    if not retiring:
        return result
    with store.transaction() as conn:  # a person whose data came again can be matched now
        again = [
            name
            for name in steps()
            if (row := _progress_row(conn, keys.key_id, name)) is not None
            and row.finished_at is not None
            and any(json.loads(row.counts).get(b) for b in BLOCKERS)
        ]
    _restart(store, again)
    try:
        for name, step in steps().items():
            result.counts[name] = _run_step(store, name, step, batch_size, progress, deadline)
        with store.transaction() as conn:
            left = _needing(conn, {keys.key_id})
        if left:  # written with an old key meanwhile (a run that began before the rotation)
            again = [n for n in steps() if n != "subjects"]
            _restart(store, again)
            for name in again:
                step = steps()[name]
                result.counts[name] = _run_step(store, name, step, batch_size, progress, deadline)
    except _Paused:
        result.paused = True
        return result
    with store.transaction() as conn:
        result.remaining = _needing(conn, {keys.key_id})
        if not result.remaining and (allow_unmatched or not result.blocked):
            stamp = now()
            for key_id in retiring:
                keyed.retire(conn, key_id, stamp)
            result.retired = list(retiring)
    return result


def status(store: Store) -> dict:
    """Per key: its state, whether this process has it, and how many rows still need it;
    and how far a rotation to the current key has come."""
    keys = store.keys
    with store.transaction() as conn:
        known = keyed.known(conn)
        by_column = keyed.ciphertexts_by_key(conn)
        r = t.key_rotation.c
        progress = conn.execute(
            select(r.step, r.position, r.counts, r.finished_at).where(r.key_id == keys.key_id)
        ).all()
        subjects = conn.execute(select(func.count()).select_from(t.subjects)).scalar_one()
    ids = list(dict.fromkeys([*known, *keys.key_ids, *(k for c in by_column.values() for k in c)]))
    out_keys = []
    for key_id in ids:
        k = known.get(key_id)
        state = k.state if k else ("current" if key_id == keys.key_id else "unrecorded")
        out_keys.append(
            {
                "key_id": key_id.hex(),
                "state": state,
                "configured": key_id in keys.key_ids,
                "created_at": k.created_at.isoformat() if k else None,
                "retired_at": k.retired_at.isoformat() if k and k.retired_at else None,
                "rows": {col: n[key_id] for col, n in by_column.items() if n.get(key_id)},
            }
        )
    steps_done = {
        name: {
            "finished": finished is not None,
            "position": json.loads(position) if position else None,
            "counts": json.loads(counts),
        }
        for name, position, counts, finished in progress
    }
    retiring = [k["key_id"] for k in out_keys if k["state"] == keyed.RETIRING]
    if retiring:  # pseudonyms not yet re-keyed need one of the retiring keys too
        for k in out_keys:
            if k["state"] == keyed.RETIRING:
                k["pseudonyms_to_check"] = _pseudonyms_left(steps_done, subjects)
    return {"current": keys.key_id.hex(), "keys": out_keys, "rotation": steps_done}


def _pseudonyms_left(steps_done: dict, subjects: int) -> dict[str, int | str]:
    """People whose pseudonym a retiring key may still be needed for."""
    step = steps_done.get("subjects")
    if step is None:
        return {"subjects": subjects}
    blocked = sum(step["counts"].get(b, 0) for b in BLOCKERS)
    if step["finished"]:
        return {"subjects": blocked}
    checked = sum(step["counts"].values())
    return {"subjects": max(subjects - checked, 0) + blocked}


def continue_rotation(hub, *, batch_size: int = 500, max_seconds: float = 600.0) -> str | None:
    """For the health DAG: go on with a rotation the store has begun (a key is retiring),
    for at most ``max_seconds``; a line saying how far it came, or None when none is due."""
    with hub.store.transaction() as conn:
        retiring = [k for k in keyed.known(conn).values() if k.state == keyed.RETIRING]
    if not retiring:
        return None
    done = rotate(hub.store, batch_size=batch_size, max_seconds=max_seconds)
    return describe(done)


def describe(done: Rotation) -> str:
    """One paragraph for operators about a rotation's outcome."""
    key = done.key_id.hex()
    if not done.retiring:
        return f"key {key} is current and no other key is in use: nothing to rotate"
    old = ", ".join(k.hex() for k in done.retiring)
    if done.paused:
        return f"rotation to key {key} paused (time limit); run `hub keys rotate` to go on"
    if done.retired:
        return (
            f"rotation to key {key} done: key(s) {old} retired, no row needs them; you may "
            f"remove them from {PREVIOUS_KEYS_ENV} / the key file / the Airflow connection"
        )
    parts = [f"{c}: {sum(n.values())} rows" for c, n in done.remaining.items()]
    parts += [f"{what}: {n}" for what, n in done.blocked.items()]
    return (
        f"rotation to key {key}: key(s) {old} still needed ({'; '.join(parts)}); "
        "keep them configured and run `hub keys rotate` again"
        + (
            " (pseudonyms unmatched: none of those people's records holds their identity "
            "code; --allow-unmatched retires the old key anyway)"
            if done.blocked
            else ""
        )
    )
