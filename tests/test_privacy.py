"""Identity codes: pseudonyms, encryption, redaction of logs and messages, masking."""

import logging

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import ConfigError
from hub.privacy import HETU_PATTERN, install_log_redaction, redact
from hub.privacy.crypto import Keyring, generate_master_key, load_keyring
from hub.privacy.mask import mask_payload
from hub.synthetic import person


def keyring() -> Keyring:
    return load_keyring(key=generate_master_key())


def test_pseudonym_is_stable_keyed_and_scoped():
    k1, k2 = keyring(), keyring()
    code = person(1, 1).hetu
    assert k1.pseudonym(code) == k1.pseudonym(code)
    assert k1.pseudonym(code) != k2.pseudonym(code)
    assert k1.pseudonym(code) != k1.pseudonym(code, scope="te_office/Client")
    assert code not in k1.pseudonym(code)


@given(st.binary(max_size=2000), st.binary(max_size=50))
def test_encryption_round_trip_and_binding(data, context):
    k = KEYS
    blob = k.encrypt(data, context=context)
    assert k.decrypt(blob, context=context) == data
    assert len(data) < 8 or data not in blob  # not stored in the clear
    with pytest.raises(InvalidTag):
        k.decrypt(blob, context=context + b"x")


KEYS = keyring()


def test_ciphertext_from_another_key_is_refused():
    blob = keyring().encrypt(b"secret")
    with pytest.raises(ValueError, match="another key"):
        KEYS.decrypt(blob)


def test_missing_key_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    monkeypatch.delenv("HUB_MASTER_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match="HUB_MASTER_KEY"):
        load_keyring(key_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="32 bytes"):
        load_keyring(key="c2hvcnQ=")


@given(st.integers(min_value=0, max_value=100_000), st.text(max_size=30), st.text(max_size=30))
def test_redact_removes_every_identity_code(index, before, after):
    code = person(3, index).hetu
    text = f"{before} {code} {after}"
    cleaned = redact(text)
    assert code not in cleaned


def test_log_filter_scrubs_messages_args_and_tracebacks(tmp_path):
    code = person(1, 9).hetu
    logger = logging.getLogger("hub.test.redaction")
    handler = logging.FileHandler(tmp_path / "log.txt")
    logger.addHandler(handler)
    install_log_redaction(logger)
    try:
        logger.error("client %s failed", code)
        try:
            raise ValueError(f"bad record {code}")
        except ValueError:
            logger.exception("with traceback")
    finally:
        handler.close()
        logger.removeHandler(handler)
    text = (tmp_path / "log.txt").read_text()
    assert "failed" in text and "bad record" in text
    assert not HETU_PATTERN.search(text)


def test_mask_payload_hides_people_keeps_structure():
    p = person(1, 2)
    native = {
        "personId": p.hetu,
        "firstName": p.first_name,
        "daysPerWeek": 5,
        "note": f"asiakas {p.hetu}",
        "status": "ACTIVE",
    }
    masked = mask_payload(native)
    assert masked["daysPerWeek"] == 5 and masked["status"] == "ACTIVE"
    assert p.hetu not in str(masked) and p.first_name not in str(masked)
