"""Only what the law allows, end to end over the shipped configuration and the sandboxes:
Kela receives KTT attendance inside the decided period and days and nothing else; every
other record is held back with its reason or waits for an operator's choice; the choice,
made from the command line, is reported."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from support.states import first_run_state

from hub.cli import main as cli
from hub.disclosure.rules import decided_period
from hub.disclosure.screen import CORRECTED, PROHIBITION_RULE
from hub.engine import Hub, run_exchange
from hub.store import deadletters, heldback, records
from hub.store import schema as t

KELA_RULES = "ktt_only,inside_decided_period,paid_days_per_week"
CASE_SYSTEM = "county_case_system"


def run(hub, name):
    summary = run_exchange(hub, name)
    assert summary.state == first_run_state(name), f"{name}: {summary.error}"
    return summary


def _decisions(hub) -> dict[tuple[str, str, str], dict]:
    """The county's own decisions (service episodes as its case system recorded them)."""
    r = t.records.c
    with hub.store.transaction() as conn:
        rows = conn.execute(
            select(r.id, r.entity, r.payload).where(
                r.entity == "ServiceEpisode", r.origin_system == CASE_SYSTEM
            )
        ).all()
    found = {}
    for rid, entity, payload in rows:
        d = records.decrypt_row(hub.keys, rid, entity, payload)
        found[(d["client_hetu"], d["service_type"], d["start_date"])] = d
    return found


def _reports(received: list[dict]) -> list[dict]:
    return [r for r in received if "kuukausi" in r]


def _days(report: dict) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(d) for days in report["kuukausi"].values() for d in days)


def test_kela_receives_only_ktt_days_inside_the_decided_period_and_days(hub_env, tmp_path):
    hub = Hub.open()
    try:
        run(hub, "employment_authority_to_county")
        hub_env.control(CASE_SYSTEM, "nightly", "POST")
        run(hub, "county_to_hub")  # the prohibitions, before anything of the county goes
        run(hub, "county_to_employment_authority")
        summary = run(hub, "county_to_kela")
        decisions = _decisions(hub)
        sent = _reports(hub_env.received("kela_county"))
        assert sent

        # everything Kela received is KTT, inside the county's decision, within its days
        for report in sent:
            assert report["palvelu"] == "KTT"
            decision = decisions[
                (report["hetu"], "rehabilitative_work_activity", report["jaksonAlku"])
            ]
            first, last = decided_period(decision)
            days = _days(report)
            assert all(first <= d and (last is None or d <= last) for d in days)
            weeks: dict[tuple[int, int], int] = {}
            for d in days:
                weeks[d.isocalendar()[:2]] = weeks.get(d.isocalendar()[:2], 0) + 1
            assert max(weeks.values()) <= min(5, decision["days_per_week"] or 5)

        with hub.store.transaction() as conn:
            held = {h.rule: h for h in heldback.summary(conn, run_id=summary.run_id)}
            waiting = deadletters.list_letters(conn, exchange="county_to_kela", limit=1000)
            admitted = (
                conn.execute(
                    select(t.disclosure_log.c.admitted_by)
                    .join(t.disclosures)
                    .where(t.disclosures.c.exchange == "county_to_kela")
                )
                .scalars()
                .all()
            )
        # nothing lost: each record read is sent, held back whole or waits for a choice
        whole = sum(h.records for h in held.values())
        assert summary.delivered + whole + summary.failed == summary.read
        assert summary.held_back == whole + sum(h.parts for h in held.values())
        assert held["ktt_only"].records > 0  # social rehabilitation gives no allowance
        assert "social_rehabilitation" in held["ktt_only"].reason
        assert held[PROHIBITION_RULE].records > 0
        period = held["inside_decided_period"]
        assert period.records + period.parts > 0 and "outside the decided period" in period.reason
        # each record sent names the rules that admitted it in the disclosure log
        assert admitted and set(admitted) == {KELA_RULES}

        # weeks over the decided days wait for an operator, who chooses the days to report
        choices = [w for w in waiting if w.stage == "disclose" and w.error_class == "correction"]
        assert choices and all(w.field == "attended_dates" for w in choices)
        letter = choices[0]
        offer = deadletters.payload_of(hub.keys, letter)
        chosen = offer["choices"][: offer["choose_at_most"]]
        fixed = tmp_path / "chosen.json"
        fixed.write_text(json.dumps({"attended_dates": chosen}))
        before = len(sent)
        assert cli(["failures", "replay", str(letter.id), "--payload", str(fixed)]) == 0
        now_sent = _reports(hub_env.received("kela_county"))
        assert len(now_sent) == before + 1
        new = [r for r in now_sent if r not in sent]
        assert [d.isoformat() for d in _days(new[0])] == chosen
        with hub.store.transaction() as conn:
            assert deadletters.get(conn, letter.id).status == deadletters.REPLAYED
            after = {h.rule: h for h in heldback.summary(conn, exchange="county_to_kela")}
        left_out = len(offer["choices"]) - len(chosen)
        assert after[CORRECTED].items == left_out  # the days not chosen, held back
    finally:
        hub.close()


def test_a_choice_that_adds_a_day_is_refused_and_asked_again(hub_env, tmp_path):
    hub = Hub.open()
    try:
        run(hub, "employment_authority_to_county")
        hub_env.control(CASE_SYSTEM, "nightly", "POST")
        run(hub, "county_to_employment_authority")  # the county's decisions into the hub
        run(hub, "county_to_kela")
        with hub.store.transaction() as conn:
            letters = deadletters.list_letters(conn, exchange="county_to_kela", limit=1000)
        letter = next(w for w in letters if w.stage == "disclose")
        offer = deadletters.payload_of(hub.keys, letter)
        monday = dt.date.fromisoformat(offer["choices"][0])
        invented = (monday - dt.timedelta(days=7)).isoformat()  # a day the source never gave
        fixed = tmp_path / "chosen.json"
        fixed.write_text(json.dumps({"attended_dates": [invented]}))
        before = hub_env.received("kela_county")
        cli(["failures", "replay", str(letter.id), "--payload", str(fixed)])
        with hub.store.transaction() as conn:
            again = [
                w
                for w in deadletters.list_letters(conn, exchange="county_to_kela", limit=1000)
                if w.stage == "disclose"
                and w.status == deadletters.OPEN
                and w.record_id == letter.record_id
            ]
        assert len(again) == 1 and "correction refused" in again[0].reason
        assert hub_env.received("kela_county") == before  # nothing was sent
    finally:
        hub.close()
