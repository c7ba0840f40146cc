# ruff: noqa: F811 - the fixtures imported from test_web are the parameters
"""Replaying every open failed record a filter matches, in the background, with progress:
the dashboard over HTTP against the real sandboxes."""

from __future__ import annotations

import datetime as dt
import re
import time

from test_web import app, csrf_of, failed, hub, sign_in  # noqa: F401 - the dashboard's fixtures

from hub.store import deadletters, replay_jobs

EXCHANGE = "employment_authority_to_county"


def follow(client, url: str, timeout: float = 120) -> str:
    """The job's page once it says it has finished (it refreshes itself while running)."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(url).text
        if 'class="replay-state">finished' in page or time.monotonic() > deadline:
            return page
        assert 'http-equiv="refresh"' in page  # a browser follows it by itself
        time.sleep(0.5)


def test_a_large_replay_runs_in_the_background_and_shows_how_far_it_got(app, hub, hub_env, failed):
    delivery = [r for r in failed if r.stage == "deliver"]
    assert len(delivery) > 50  # more than a page: the kind of replay that needs the background
    hub_env.faults("county_case_system")  # the fault is fixed
    client = sign_in(app, "olli")
    listing = client.get(f"/failures?exchange={EXCHANGE}&stage=deliver").text
    assert f"Replay all {len(delivery)} open records that match" in listing
    token = csrf_of(client, "/failures")
    started = client.post(
        f"/replays?exchange={EXCHANGE}&stage=deliver", data={"csrf": token}, follow_redirects=False
    )
    assert started.status_code == 303
    job_url = started.headers["location"]
    assert re.fullmatch(r"/replays/\d+", job_url)
    page = follow(client, job_url)
    n = len(delivery)
    assert f"{n} of {n} done (100 %)" in page
    assert f"{n} replayed" in page and "0 not replayed" in page
    with hub.store.transaction() as conn:
        assert deadletters.count_letters(conn, exchange=EXCHANGE, stage="deliver") == 0
        job = replay_jobs.get(conn, int(job_url.rsplit("/", 1)[1]))
    assert job.actor == "dashboard:olli" and "stage=deliver" in job.selection
    assert len(hub_env.received("county_case_system")) >= n  # delivered after the fix
    # nothing more to replay: said so, no job
    again = client.post(f"/replays?exchange={EXCHANGE}&stage=deliver", data={"csrf": token})
    assert "No open failed records match" in again.text


def test_only_operators_start_one_and_a_stopped_one_is_shown_stalled(app, hub):
    viewer = sign_in(app, "viivi")
    token = csrf_of(viewer, "/failures")
    assert viewer.post("/replays", data={"csrf": token}).status_code == 403
    operator = sign_in(app, "olli")
    assert operator.post("/replays", data={"csrf": "forged"}).status_code == 403
    with hub.store.transaction() as conn:
        job_id = replay_jobs.create(conn, "dashboard:olli", "exchange=x", 120)
        replay_jobs.advance(conn, job_id, done=40, replayed=39, not_replayed=1)
        conn.execute(  # its process stopped ten minutes ago
            replay_jobs.t.replay_jobs.update()
            .where(replay_jobs.t.replay_jobs.c.id == job_id)
            .values(updated_at=replay_jobs.now() - dt.timedelta(minutes=10))
        )
    page = viewer.get(f"/replays/{job_id}").text
    assert 'class="replay-state">stalled' in page and "40 of 120 done" in page
    assert "still open: replay them" in page and 'http-equiv="refresh"' not in page
    assert viewer.get("/replays/999999").status_code == 404
