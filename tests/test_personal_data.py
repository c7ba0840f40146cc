"""A full run of both exchanges leaves no identity code in plaintext in the logs or in the
database file (nor its WAL), while the store still holds every client."""

import logging

import pytest

from hub.engine import Hub, run_exchange
from hub.privacy import HETU_PATTERN, install_log_redaction
from hub.synthetic import people
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_no_identity_code_in_logs_or_database(hub_env, tmp_path, store_url):
    log_file = tmp_path / "hub.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    install_log_redaction()
    try:
        hub_env.faults("employment_authority", malformed_every=9)
        hub = Hub.open()
        first = run_exchange(hub, "employment_authority_to_county")
        hub_env.faults("employment_authority")
        hub_env.control("county_case_system", "nightly", "POST")
        second = run_exchange(hub, "county_to_employment_authority")
        hub.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert first.read > 0 and second.read > 0 and first.failed > 0

    codes = {p.hetu for p in people(SANDBOX_SEED, SANDBOX_SIZE)}
    log_text = log_file.read_text()
    assert "employment_authority_to_county" in log_text  # the run did log
    assert not HETU_PATTERN.search(log_text)

    db = store_url.removeprefix("sqlite:///")
    blobs = b"".join(
        open(path, "rb").read() for path in (db, db + "-wal") if __import__("os").path.exists(path)
    )
    assert len(blobs) > 10_000
    assert not [c for c in codes if c.encode() in blobs]
    assert not HETU_PATTERN.search(blobs.decode("latin-1"))
