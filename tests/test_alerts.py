"""Alerts by e-mail (to a real local SMTP server) and webhook (a real local HTTP receiver):
a failed run, dead letters above the threshold, a stale exchange; once per occurrence, also
with several workers checking at once (real processes on SQLite and PostgreSQL); the Airflow
notifiers and ``hub_health``'s retries; and nothing personal in any alert."""

from __future__ import annotations

import datetime as dt
import email
import json
import socketserver
import threading

import pytest
from conftest import BOTH_STORES

from hub import sandbox as sb
from hub.engine import Hub, run_exchange
from hub.ops.alerts import (
    DEAD_LETTERS,
    RUN_FAILED,
    STALE,
    AlertSettings,
    check_and_send,
    evaluate,
)
from hub.privacy import HETU_PATTERN


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive a message (EHLO, MAIL, RCPT, DATA, QUIT)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        data, rcpt = None, []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ")[0].upper()
            if data is not None:
                if command == ".":
                    self.server.messages.append((rcpt, "\r\n".join(data)))
                    data = None
                    self.reply("250 queued")
                else:
                    data.append(command[1:] if command.startswith("..") else command)
            elif verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpt.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 ok")
            elif verb == "DATA":
                data = []
                self.reply("354 go on")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", sb.free_port()), _Smtp)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(smtp, webhook):
    return AlertSettings(
        email_to=("ops@example.fi",),
        smtp_host="127.0.0.1",
        smtp_port=smtp.server_address[1],
        webhook_url=f"{webhook.url}/hook",
        dead_letter_threshold=5,
    )


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def mails(smtp) -> list[email.message.Message]:
    return [email.message_from_string(body) for _, body in smtp.messages]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_failed_records_and_a_failed_run_alert_once_by_both_channels(
    hub, hub_env, settings, smtp, webhook
):
    hub_env.faults("county_case_system", reject_writes=True)
    assert run_exchange(hub, "employment_authority_to_county").failed > 5
    hub_env.faults("employment_authority", unavailable=True)
    failed = run_exchange(hub, "employment_authority_to_county")
    assert failed.state == "failed"

    sent = check_and_send(hub, settings)
    assert {(a.kind, a.exchange) for a in sent} == {
        (RUN_FAILED, "employment_authority_to_county"),
        (DEAD_LETTERS, "employment_authority_to_county"),
    }
    [message] = mails(smtp)
    assert message["To"] == "ops@example.fi" and "2 alerts" in message["Subject"]
    body = message.get_payload()
    assert "employment_authority_to_county" in body and "threshold 5" in body
    [posted] = webhook.received
    assert {a["kind"] for a in posted["alerts"]} == {RUN_FAILED, DEAD_LETTERS}
    for text in (body, json.dumps(posted)):
        assert not HETU_PATTERN.search(text)

    assert check_and_send(hub, settings) == []  # the same occurrence: no second alert
    assert len(smtp.messages) == 1 and len(webhook.received) == 1
    hub_env.faults("employment_authority")
    assert run_exchange(hub, "employment_authority_to_county").state == "success"
    assert check_and_send(hub, settings) == []  # recovered; the dead letters were told


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_exchange_that_has_not_succeeded_for_too_long_is_stale(hub, hub_env):
    run_exchange(hub, "county_to_employment_authority")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    with hub.store.transaction() as conn:
        now = evaluate(conn, hub.config, dead_letter_threshold=100)
        then = evaluate(conn, hub.config, dead_letter_threshold=100, at=later)
        lenient = evaluate(conn, hub.config, dead_letter_threshold=100, at=later, stale_factor=5)
    assert not [a for a in now if a.kind == STALE]
    stale = [a for a in then if a.kind == STALE]
    assert [a.exchange for a in stale] == ["county_to_employment_authority"]
    assert "more than 2 times its schedule (30 3 * * *)" in stale[0].message
    assert not [a for a in lenient if a.kind == STALE]


def test_a_channel_that_fails_does_not_stop_the_other(smtp):
    from hub.ops.alerts import Alert, dispatch

    broken = AlertSettings(
        email_to=("ops@example.fi",),
        smtp_host="127.0.0.1",
        smtp_port=smtp.server_address[1],
        webhook_url=f"http://127.0.0.1:{sb.free_port()}/nowhere",
    )
    alert = Alert(STALE, "x", "x is stale", "stale")
    assert dispatch([alert], broken) == ["email"]
    assert len(smtp.messages) == 1


def test_the_airflow_notifiers_report_a_failed_dag_run(settings, smtp, webhook):
    from types import SimpleNamespace

    from airflow.sdk import DAG

    from hub.ops.notifiers import HubEmailNotifier, HubWebhookNotifier, alert_from_context

    context = {
        "dag": DAG("hub_kela_to_seinajoki", schedule=None),
        "dag_run": SimpleNamespace(run_id="scheduled__2026-11-23T05:00:00+00:00"),
        "task_instance": SimpleNamespace(task_id="extract"),
        "exception": RuntimeError("Kela: SOAP fault Server.ServerProxy.ServiceFailed 010190-999W"),
    }
    alert = alert_from_context(context)
    assert alert.exchange == "kela_to_seinajoki" and "task extract" in alert.message
    assert not HETU_PATTERN.search(alert.message)
    HubEmailNotifier(settings)(context)
    HubWebhookNotifier(settings)(context)
    [message] = mails(smtp)
    assert message["Subject"] == "[hub] kela_to_seinajoki: run failed"
    assert webhook.received[0]["alerts"][0]["exchange"] == "kela_to_seinajoki"


def test_notifiers_take_their_channels_from_the_environment_or_airflow(monkeypatch, webhook):
    """A notifier per channel is attached at parse time (no connection read then); when a run
    fails, each sends if its channel is set: in the environment or, where it is not, in the
    Airflow connections hub_alert_smtp / hub_alert_webhook."""
    import json

    from hub.airflow.secrets import alert_settings
    from hub.ops.notifiers import HubEmailNotifier, HubWebhookNotifier, failure_notifiers

    for name in ("HUB_ALERT_EMAIL_TO", "HUB_SMTP_HOST", "HUB_ALERT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    assert [type(n) for n in failure_notifiers()] == [HubEmailNotifier, HubWebhookNotifier]
    assert not alert_settings().webhook_on and not alert_settings().email_on
    context = {
        "dag": type("D", (), {"dag_id": "hub_kela_to_seinajoki"})(),
        "run_id": "manual__1",
        "exception": RuntimeError("boom"),
    }
    HubWebhookNotifier().notify(context)  # no channel: nothing sent, no error
    assert webhook.received == []
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUB_ALERT_WEBHOOK",
        json.dumps({"conn_type": "http", "extra": {"url": f"{webhook.url}/hook"}}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUB_ALERT_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "smtp.example.fi",
                "port": 587,
                "login": "hub",
                "password": "from-airflow",
                "extra": {
                    "to": "a@example.fi, b@example.fi",
                    "from": "hub@example.fi",
                    "starttls": True,
                },
            }
        ),
    )
    found = alert_settings()
    assert found.webhook_url == f"{webhook.url}/hook" and found.email_on
    assert found.email_to == ("a@example.fi", "b@example.fi") and found.smtp_port == 587
    assert found.smtp_password == "from-airflow" and found.smtp_starttls
    assert "from-airflow" not in repr(found)
    HubWebhookNotifier().notify(context)  # a run fails: the channel Airflow names is used
    assert webhook.received[0]["alerts"][0]["exchange"] == "kela_to_seinajoki"
    monkeypatch.setenv("HUB_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # the environment wins
    assert alert_settings().webhook_url == "http://127.0.0.1:9/hook"
    assert AlertSettings.from_env().email_to == ()


# --- once, whatever the number of workers ---------------------------------------------------


def _worker_check(barrier, results) -> None:
    """One ``hub_health`` worker: its own process and hub, as a Celery worker has; checks at
    the same moment as the others (the barrier) and reports the alerts it sent."""
    from hub.engine import Hub
    from hub.ops.alerts import check_and_send

    hub = Hub.open()
    try:
        barrier.wait(timeout=60)
        results.put(sorted((a.kind, a.exchange) for a in check_and_send(hub)))
    finally:
        hub.close()


def _check_in_processes(n: int) -> list[list[tuple[str, str]]]:
    """``check_and_send`` in ``n`` processes at once; what each sent."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as a worker is
    barrier, results = ctx.Barrier(n), ctx.Queue()
    workers = [ctx.Process(target=_worker_check, args=(barrier, results)) for _ in range(n)]
    for w in workers:
        w.start()
    sent = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    return sent


def _delivered(webhook) -> list[tuple[str, str]]:
    return sorted((a["kind"], a["exchange"]) for post in webhook.received for a in post["alerts"])


@BOTH_STORES
def test_workers_checking_at_once_send_each_alert_once(hub, hub_env, webhook, monkeypatch):
    for name in ("HUB_ALERT_EMAIL_TO", "HUB_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_ALERT_WEBHOOK_URL", f"{webhook.url}/hook")
    monkeypatch.setenv("HUB_ALERT_DEAD_LETTERS", "5")
    name = "employment_authority_to_county"
    hub_env.faults("county_case_system", reject_writes=True)
    assert run_exchange(hub, name).failed > 5
    hub_env.faults("employment_authority", unavailable=True)
    assert run_exchange(hub, name).state == "failed"

    sent = _check_in_processes(2)
    both = [(DEAD_LETTERS, name), (RUN_FAILED, name)]
    assert sorted(a for each in sent for a in each) == both  # claimed by one process each
    assert _delivered(webhook) == both  # one delivery per alert

    # another failed run: a new occurrence of a condition already held, claimed by one
    assert run_exchange(hub, name).state == "failed"
    sent = _check_in_processes(2)
    assert sorted(a for each in sent for a in each) == [(RUN_FAILED, name)]
    assert _delivered(webhook) == sorted([*both, (RUN_FAILED, name)])
    assert _check_in_processes(2) == [[], []]  # nothing new: nothing sent


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_alert_no_channel_could_send_is_tried_again(hub, hub_env, webhook):
    from hub.store import alert_state

    name = "employment_authority_to_county"
    hub_env.faults("employment_authority", unavailable=True)
    assert run_exchange(hub, name).state == "failed"
    down = AlertSettings(webhook_url=f"http://127.0.0.1:{sb.free_port()}/nowhere")
    assert check_and_send(hub, down) == []
    with hub.store.transaction() as conn:
        assert alert_state.sent(conn) == {}  # given back
    up = AlertSettings(webhook_url=f"{webhook.url}/hook")
    assert [(a.kind, a.exchange) for a in check_and_send(hub, up)] == [(RUN_FAILED, name)]
    assert _delivered(webhook) == [(RUN_FAILED, name)]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_cleared_condition_alerts_again_when_it_comes_back(hub, hub_env, webhook):
    name = "employment_authority_to_county"
    settings = AlertSettings(webhook_url=f"{webhook.url}/hook", dead_letter_threshold=5)
    hub_env.faults("county_case_system", reject_writes=True)
    assert run_exchange(hub, name).failed > 5
    assert [a.kind for a in check_and_send(hub, settings)] == [DEAD_LETTERS]
    lenient = AlertSettings(webhook_url=settings.webhook_url, dead_letter_threshold=10_000)
    assert check_and_send(hub, lenient) == []  # below the threshold: cleared, forgotten
    assert [a.kind for a in check_and_send(hub, settings)] == [DEAD_LETTERS]
    assert len(webhook.received) == 2


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_sent_alerts_of_an_earlier_release_are_taken_over_once(hub, hub_env, webhook):
    from hub.ops.alerts import LEGACY_STATE_FILE

    name = "employment_authority_to_county"
    hub_env.faults("employment_authority", unavailable=True)
    failed = run_exchange(hub, name)
    legacy = hub.settings.home / LEGACY_STATE_FILE
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(json.dumps({f"{RUN_FAILED}:{name}": failed.run_id}), encoding="utf-8")

    settings = AlertSettings(webhook_url=f"{webhook.url}/hook")
    assert check_and_send(hub, settings) == []  # sent by the earlier release already
    assert not legacy.exists() and legacy.with_name(LEGACY_STATE_FILE + ".imported").exists()
    assert webhook.received == []
    assert run_exchange(hub, name).state == "failed"  # the outage goes on: another run
    assert [a.kind for a in check_and_send(hub, settings)] == [RUN_FAILED]


def test_hub_health_retries_and_alerts_when_it_fails(monkeypatch):
    from hub.airflow.health import RETRIES, health_dag
    from hub.ops.notifiers import HubEmailNotifier, HubWebhookNotifier

    dag = health_dag()
    for task in dag.tasks:
        assert task.retries == RETRIES and task.retry_exponential_backoff, task.task_id
    # a notifier per channel; each sends if its channel is configured when the run fails
    assert [type(n) for n in dag.on_failure_callback] == [HubEmailNotifier, HubWebhookNotifier]
