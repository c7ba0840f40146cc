"""The hub command, as an administrator or a script uses it."""

import json

import pytest

from hub.cli import main
from hub.privacy import HETU_PATTERN


def test_exchanges_list_and_validate(capsys):
    assert main(["exchanges", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {x["name"] for x in listed} >= {
        "employment_authority_to_county",
        "county_to_employment_authority",
        "county_to_kela",
        "kela_to_county",
        "kela_to_seinajoki",
        "kela_to_lapua",
        "innokyla_to_hub",
        "county_to_hub",
        "hub_to_innokyla",
    }
    assert main(["exchanges", "validate"]) == 0
    assert "valid" in capsys.readouterr().out


def test_adapters_list(capsys):
    assert main(["adapters", "list"]) == 0
    out = capsys.readouterr().out
    assert all(system in out for system in ("te_office", "municipal", "kela", "innokyla"))
    assert main(["adapters", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    adapters = {a["system"]: a for a in listing["adapters"]}
    notify = {s["name"]: s for s in adapters["te_office"]["streams"]}["period_notifications"]
    assert (notify["entity"], notify["modes"]) == ("ServiceEpisode", "w")
    assert "client_hetu" in notify["carries"] and adapters["te_office"]["sandbox"]
    hub_end = adapters["hub"]
    assert not hub_end["connects"] and hub_end["plugin"] == "hub"
    kept = {s["entity"] for s in hub_end["streams"] if not s["delivers"]}
    assert kept == set(listing["entities"])  # the hub keeps any registered entity


def test_adapters_new_scaffolds_a_distribution(tmp_path, capsys):
    assert main(["adapters", "new", "esf_participants", "--dest", str(tmp_path)]) == 0
    target = tmp_path / "hub-esf-participants"
    assert str(target) in capsys.readouterr().out
    assert (target / "pyproject.toml").is_file()
    assert main(["adapters", "new", "esf_participants", "--dest", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["adapters", "new", "Not-A-Name", "--dest", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("hub adapters new: ")
    assert main(["adapters", "new", "kela", "--dest", str(tmp_path)]) == 2
    assert "taken by an installed adapter" in capsys.readouterr().err
    assert not (tmp_path / "hub-kela").exists()


def test_unknown_exchange_is_a_clear_error(hub_env, capsys):
    assert main(["exchanges", "run", "nope"]) == 2
    assert "no exchange named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_exchanges_run_exits_0_clean_2_with_failed_records_1_failed(hub_env, capsys):
    """A script tells the three ends of ``hub exchanges run`` apart by its exit status; a
    run that completed with failed records says how many and how to see them."""
    hub_env.control("county_case_system", "nightly", "POST")
    assert main(["exchanges", "run", "county_to_employment_authority"]) == 0
    assert "success" in capsys.readouterr().out

    name = "employment_authority_to_county"  # the sandbox's rule breakers: dead letters
    assert main(["exchanges", "run", name]) == 2
    out, err = capsys.readouterr()
    assert "success_with_failures" in out
    assert main(["failures", "list", "--exchange", name, "--json"]) == 0
    failed = len(json.loads(capsys.readouterr().out))
    assert failed > 0
    assert f"{name}: {failed} record(s) failed; see them with" in err
    assert f"hub failures list --exchange {name}" in err

    hub_env.faults("employment_authority", unavailable=True)
    assert main(["exchanges", "run", name]) == 1
    assert "error: " in capsys.readouterr().err

    with pytest.raises(SystemExit):
        main(["exchanges", "run", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "2 it went through all its phases but some records failed" in usage


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_run_then_inspect_and_replay_failures(hub_env, capsys):
    assert main(["adapters", "check", "--json"]) == 0
    assert all(row["ok"] for row in json.loads(capsys.readouterr().out))
    hub_env.faults("county_case_system", reject_writes=True)
    # completed with failed records (rejected deliveries, the sandbox's rule breakers): 2
    assert main(["exchanges", "run", "employment_authority_to_county", "--json"]) == 2
    run = json.loads(capsys.readouterr().out)[0]
    assert run["state"] == "success_with_failures" and run["failed"] > 0

    assert main(["failures", "list", "--json", "--stage", "deliver", "--limit", "1000"]) == 0
    failures = json.loads(capsys.readouterr().out)
    assert main(["failures", "list", "--json", "--stage", "validate"]) == 0
    rule_breakers = json.loads(capsys.readouterr().out)  # the sandbox's 5-days-a-week periods
    assert rule_breakers
    assert len(failures) + len(rule_breakers) == run["failed"]
    assert main(["failures", "list", "--stage", "validate"]) == 0
    table = capsys.readouterr().out
    assert "days_per_week" in table and not HETU_PATTERN.search(table)

    rule_id = rule_breakers[0]["id"]
    assert main(["failures", "show", str(rule_id)]) == 0
    shown = capsys.readouterr().out
    assert "days_per_week" in shown and not HETU_PATTERN.search(shown)
    assert main(["failures", "show", str(rule_id), "--reveal"]) == 2
    assert "--reason" in capsys.readouterr().err
    # the same rule as the dashboard's: a reason that says something
    assert main(["failures", "show", str(rule_id), "--reveal", "--reason", "x"]) == 2
    assert "10 characters at least" in capsys.readouterr().err
    assert main(["failures", "show", str(rule_id), "--reveal", "--reason", "client asked"]) == 0
    assert HETU_PATTERN.search(capsys.readouterr().out)

    hub_env.faults("county_case_system")
    ids = [str(f["id"]) for f in failures]
    assert main(["failures", "replay", *ids]) == 0
    capsys.readouterr()
    assert main(["failures", "list", "--json", "--stage", "deliver"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_runs_resolve_and_users(hub_env, capsys, monkeypatch):
    import io

    hub_env.faults("county_case_system", reject_writes=True)
    assert main(["exchanges", "run", "employment_authority_to_county", "--json"]) == 2
    run = json.loads(capsys.readouterr().out)[0]
    assert main(["runs", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["exchange"] == "employment_authority_to_county"
    assert listed["failed"] == run["failed"]
    assert main(["runs", "show", listed["id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {b["phase"] for b in shown["batches"]} == {"extract", "deliver"}
    assert sum(b["failed"] for b in shown["batches"]) == run["failed"]
    assert main(["runs", "list"]) == 0
    assert "employment_authority_to_county" in capsys.readouterr().out

    assert main(["failures", "list", "--json", "--class", "rule"]) == 0
    ids = [str(f["id"]) for f in json.loads(capsys.readouterr().out)]
    assert ids
    assert main(["failures", "resolve", *ids, "--note", "agreed with the employment area"]) == 0
    capsys.readouterr()
    assert main(["failures", "list", "--json", "--class", "rule"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["failures", "list", "--json", "--class", "rule", "--status", "resolved"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert {str(f["id"]) for f in resolved} == set(ids)

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["users", "add", "olli", "--role", "operator", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "ville", "--password-stdin"]) == 2
    assert "at least 12" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "olli", "role": "operator"}]


# --- hub sandbox serve: choosing ports ---------------------------------------------------


def free_ports(n: int, *, consecutive: bool = False) -> list[int]:
    """``n`` ports nothing listens on (one after another if ``consecutive``)."""
    from hub import sandbox as sb

    for _ in range(50):
        first = sb.free_port()
        found = [first + i for i in range(n)] if consecutive else [first]
        while len(found) < n:
            found = list(dict.fromkeys([*found, sb.free_port()]))
        try:
            for port in found:
                sb.check_port("127.0.0.1", port)
        except sb.SandboxError:
            continue
        return found
    raise AssertionError("no free ports")


class Served:
    """``hub sandbox serve ARGS`` as a separate process, until it says it is serving."""

    def __init__(self, *args: str):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "sandbox", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_serving(self, timeout: float = 60) -> dict[str, str]:
        """The base URL of each system it printed."""
        import threading

        lines: list[str] = []

        def pump():
            for line in self.proc.stdout:
                lines.append(line)
                if line.startswith("serving"):
                    return

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        reader.join(timeout)
        assert lines and lines[-1].startswith("serving"), (lines, self.stop_now())
        return {line.split(": ")[0]: line.split()[1] for line in lines if "HUB_SYSTEM_" in line}

    def interrupt(self) -> int:
        import signal

        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def stop_now(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=30)[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_now()


def control_api_answers(base_url: str) -> bool:
    from urllib.parse import urlsplit

    import httpx

    root = urlsplit(base_url)
    response = httpx.get(f"{root.scheme}://{root.netloc}/_sandbox/faults", timeout=10)
    return response.status_code == 200 and response.json()["reject_writes"] is False


def test_sandbox_serve_on_the_ports_chosen_per_system():
    authority, kela = free_ports(2)
    ports = f"kela_lapua={kela}, employment_authority={authority}"
    with Served("employment_authority", "kela_lapua", "--ports", ports) as served:
        urls = served.wait_serving()
        assert set(urls) == {"employment_authority", "kela_lapua"}
        assert urls["employment_authority"].startswith(f"http://127.0.0.1:{authority}")
        assert urls["kela_lapua"].startswith(f"http://127.0.0.1:{kela}")
        assert all(control_api_answers(url) for url in urls.values())
        assert served.interrupt() == 0


def test_sandbox_serve_from_a_first_port_and_on_any_free_port():
    first, after = free_ports(2, consecutive=True)
    with Served("county_case_system", "innokyla", "--port", str(first)) as served:
        urls = served.wait_serving()
        assert urls["county_case_system"].startswith(f"http://127.0.0.1:{first}")  # as given
        assert urls["innokyla"].startswith(f"http://127.0.0.1:{after}")
        assert served.interrupt() == 0
    with Served("kela", "--port", "0") as served:  # an adapter: every system of it
        urls = served.wait_serving()
        assert set(urls) == {"kela_county", "kela_seinajoki", "kela_lapua", "kela_employment_area"}
        [url] = set(urls.values())  # the same options: one sandbox serves them all
        assert control_api_answers(url)
        assert served.interrupt() == 0


def test_sandbox_serve_refuses_a_port_in_use_and_starts_nothing():
    import socket

    (free,) = free_ports(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = f"employment_authority={free},kela_county={busy}"
        with Served("employment_authority", "kela_county", "--ports", ports) as served:
            assert served.proc.wait(60) == 2
            error = served.stop_now()
    assert f"port {busy} on 127.0.0.1 is in use" in error and "Traceback" not in error
    from hub import sandbox as sb

    sb.check_port("127.0.0.1", free)  # employment_authority was not left listening


@pytest.mark.parametrize(
    "options, message",
    [
        (["--ports", "kela"], "'kela' is not SYSTEM=PORT"),
        (["--ports", "kela=x"], "'x' is not a port number"),
        (["--ports", "kela=70000"], "70000 is not a port"),
        (["--ports", ","], "give SYSTEM=PORT"),
        (["--ports", "kela_county=9100,kela_county=9101"], "kela_county is given twice"),
        (["--ports", "kela_county=9100,seinajoki=9100"], "port 9100 is given to"),
        (["--ports", "nope=9100"], "--ports names nope, which is not served"),
        (["--ports", "kela=9100"], "--ports names kela, which is not served"),  # an adapter
        (["kela_county", "--ports", "seinajoki=9100"], "--ports names seinajoki"),
        (
            ["--ports", "kela_county=9100,kela_lapua=9101"],
            "kela_county and kela_lapua share one sandbox",
        ),
        (["--port", "-1"], "-1 is not a port"),
        (["--port", "65535"], "sandboxes do not fit above 65535"),
        (["nope"], "no sandbox for 'nope'"),
    ],
)
def test_sandbox_serve_says_what_is_wrong_with_the_ports(options, message, capsys):
    assert main(["sandbox", "serve", *options]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error


def test_sandbox_ports_default_to_each_sandboxs_own():
    from hub import sandbox as sb
    from hub.plugins import sandbox_registry

    specs = list(sandbox_registry().values())
    assert sb.assign_ports(specs) == {s.system_id: s.default_port for s in specs}
    assert sorted(sb.assign_ports(specs).values()) == [8701, 8702, 8703, 8704]


def test_every_command_and_option_says_what_it_does():
    import argparse

    from hub.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {c.dest for c in action._choices_actions if c.help}
                for name, sub in action.choices.items():
                    if name not in helped:
                        missing.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "hub")
    assert not missing, f"no help text: {missing}"


def test_failures_list_says_what_is_wrong_with_a_filter(capsys):
    assert main(["failures", "list", "--until", "13.1.2026"]) == 2
    assert "until: '13.1.2026' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
