"""Strict JSON (hub.jsonsafe): what JSON means is taken as it is; what it does not mean, or
the hub could not keep, is a flaw marked where it is; a document that cannot be read is an
error that says whether reading it again may heal it (cut short) or not."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import jsonsafe
from hub.jsonsafe import (
    MAX_DEPTH,
    Duplicated,
    Flaw,
    IncompleteJsonError,
    JsonDocumentError,
    envelope_flaw,
    flaw,
    parse,
)

BIG = 10**39 - 1  # the longest integer that is still a quantity (40 characters with a sign)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-BIG, max_value=BIG)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
containers = st.lists(values, min_size=1, max_size=4) | st.dictionaries(
    st.text(max_size=10), values, min_size=1, max_size=4
)


def depth(value) -> int:
    """Nesting depth: each array or object is one level."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested(levels: int, inner: str = "") -> str:
    return "[" * levels + inner + "]" * levels


# --- what JSON means is taken as it is -------------------------------------------------------
@given(values, st.booleans(), st.sampled_from([None, 2]))
@settings(max_examples=300)
def test_any_json_that_json_dumps_writes_parses_equal_and_flawless(value, ascii_only, indent):
    if depth(value) > MAX_DEPTH:
        return
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    for body in (text, text.encode()):
        parsed = parse(body)
        assert parsed == value
        assert flaw(parsed) is None
        if isinstance(parsed, dict):
            assert envelope_flaw(parsed, "items") is None


@given(containers)
@settings(max_examples=200)
def test_every_cut_of_a_document_is_incomplete_as_text_and_as_bytes(value):
    text = json.dumps(value, ensure_ascii=False)
    data = text.encode()
    for cut in range(len(text)):
        with pytest.raises(IncompleteJsonError):
            parse(text[:cut])
    for cut in range(len(data)):
        with pytest.raises(IncompleteJsonError):
            parse(data[:cut])


def test_valid_surrogate_pairs_and_finnish_text_are_text():
    assert parse(r'{"a": "\ud83d\ude00 ä"}') == {"a": "😀 ä"}
    assert parse('{"nimi": "Äijälä"}'.encode()) == {"nimi": "Äijälä"}
    assert flaw(parse(r'["\ud83d\ude00"]')) is None


def test_a_byte_order_mark_is_ignored():
    assert parse(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


# --- flaws: kept as sent, found where they are ----------------------------------------------
def test_a_duplicated_key_keeps_every_value_and_chooses_none():
    value = parse('{"id": "x", "nimi": "a", "nimi": "b", "nimi": "c"}')
    assert type(value["nimi"]) is Duplicated and value["nimi"] == ["a", "b", "c"]
    assert flaw(value) == jsonsafe.ContractViolation("nimi", "given 3 times")
    inner = parse('{"a": {"b": [{"c": 1, "c": 1}]}}')
    assert flaw(inner).field == "a.b[0].c"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e999", "a number too large to hold"),
        ("-1e999", "a number too large to hold"),
        ("9" * 5000, "a number of 5000 digits"),
        ("0." + "1" * 5000, "a number of 5002 characters"),
    ],
)
def test_numbers_json_does_not_mean_are_flaws_kept_as_their_text(text, why):
    value = parse(f'{{"id": "x", "hoursPerDay": {text}}}')
    kept = value["hoursPerDay"]
    assert type(kept) is Flaw and kept == text and kept.why == why
    violation = flaw(value)
    assert violation.field == "hoursPerDay" and violation.message == why
    assert text not in violation.message or text in ("NaN", "Infinity", "-Infinity")


def test_numbers_of_forty_characters_are_numbers():
    assert parse(str(BIG)) == BIG and parse(str(-BIG)) == -BIG
    assert parse("1e308") == 1e308 and flaw(parse("[1e308, -0.0, 5e-324]")) is None


@pytest.mark.parametrize("escape", [r"\ud800", r"\udfff", r"\udbff", r"x\ud800y", r"\ude00\ud83d"])
def test_a_lone_surrogate_in_a_value_is_a_flaw_naming_the_field(escape):
    value = parse(f'{{"id": "x", "person": {{"lastName": "{escape}"}}}}')
    violation = flaw(value)
    assert violation.field == "person.lastName" and "lone surrogate" in violation.message


def test_a_lone_surrogate_in_a_key_is_a_flaw_of_the_object_holding_it():
    assert flaw(parse(r'{"id": "x", "\ud800": 1}')) == jsonsafe.ContractViolation(
        "(record)", "a field name holds a lone surrogate"
    )
    assert flaw(parse(r'{"a": {"b\udc00": 1}}')).field == "a"


def test_the_first_flaw_in_document_order_is_reported():
    assert flaw(parse('{"a": [1, NaN], "b": 1e999, "a2": {"x": "\\ud800"}}')).field == "a[1]"
    assert flaw(parse('{"b": 1e999, "a": [1, NaN]}')).field == "b"


def test_nesting_past_max_depth_is_a_flaw_and_the_depth_counts_from_where_the_value_is():
    assert flaw(parse(nested(MAX_DEPTH, "1"))) is None
    assert flaw(parse(nested(MAX_DEPTH))) is None
    deep = flaw(parse(nested(MAX_DEPTH + 1)))  # 33 levels, even with nothing inside
    assert deep.message == f"nested more than {MAX_DEPTH} levels deep"
    assert deep.field == "[0]" * MAX_DEPTH
    record = parse('{"goals": ' + nested(MAX_DEPTH - 2) + "}")  # 31 levels
    assert flaw(record) is None
    assert flaw(record, depth=2).field.startswith("goals")  # a record two levels into a page


def test_flaws_survive_pickling():
    """The engine pickles records to and from its reading worker."""
    value = parse('{"a": NaN, "b": 1, "b": 2, "c": "\\ud800", "d": 1e999}')
    again = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == value and type(again["a"]) is Flaw and again["a"].why == value["a"].why
    assert type(again["b"]) is Duplicated
    assert flaw(again) == flaw(value)


def test_flawed_values_stay_json():
    """A dead letter keeps the record as JSON (ASCII, so that lone surrogates fit)."""
    value = parse('{"a": NaN, "b": [1, {"c": 2, "c": 3}], "d": "\\ud800", "e": 1e999}')
    kept = json.loads(json.dumps(value, ensure_ascii=True))
    assert kept == {"a": "NaN", "b": [1, {"c": [2, 3]}], "d": "\ud800", "e": "1e999"}


# --- a page's envelope ------------------------------------------------------------------------
def test_envelope_flaws_are_the_pages_own_not_its_records():
    assert envelope_flaw(parse('{"items": [], "items": []}'), "items") == "items: given 2 times"
    assert envelope_flaw(parse('{"items": [], "hasMore": NaN}'), "items") == (
        "hasMore: NaN is not a JSON number"
    )
    assert "lone surrogate" in envelope_flaw(parse('{"items": [], "\\ud800": 1}'), "items")
    assert "next.after" in envelope_flaw(parse('{"items": [], "next": {"after": 1e999}}'), "items")
    flawed_record = parse('{"items": [{"id": NaN, "id": 1}], "hasMore": false}')
    assert envelope_flaw(flawed_record, "items") is None  # the record's flaw is the record's
    assert envelope_flaw([1, 2], "items") is None
    assert envelope_flaw(parse('{"items": [], "meta": ' + nested(MAX_DEPTH) + "}"), "items")


# --- documents that cannot be read ------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  \n\t",
        "",
        b'{"items": [{"id": "a"',
        b'{"items": [{"id": "a"}], "hasMore": tr',
        b'{"items": [1.',
        b'{"items": [-',
        b'{"items": [1e+',
        b'{"items": ["\\u00',
        b'{"items": ["\\u00e4',
        b'{"items": ["\\',
        '{"nimi": "ä"}'.encode()[:-3],  # cut inside the two bytes of "ä"
        b'{"items": [NaN, Infin',
    ],
)
def test_empty_and_cut_short_bodies_are_incomplete(body):
    with pytest.raises(IncompleteJsonError, match="te_office GET /clients"):
        parse(body, what="te_office GET /clients")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"a": "\xff"}', "not UTF-8 text"),
        (b'"\xed\xa0\x80"', "not UTF-8 text"),  # a surrogate encoded as if it were text
        ('{"a": 1}'.encode("utf-16"), "not UTF-8 text"),
        ('{"a": 1}'.encode("utf-16-le"), "not JSON"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"a": tru}', "not JSON"),
        (b"[1 2", "not JSON"),
        (b"[1.5.", "not JSON"),
        (b'{"a": 1} {"b": 2}', "not JSON: Extra data"),
        (b"{'a': 1}", "not JSON"),
        (nested(10_000).encode(), "nested too deeply to read"),
    ],
)
def test_bodies_that_are_not_json_are_document_errors_not_incomplete(body, words):
    with pytest.raises(JsonDocumentError, match=words) as caught:
        parse(body, what="innokyla GET /api/v1/practice-models")
    assert type(caught.value) is JsonDocumentError  # reading it again would not heal it
    assert "innokyla GET /api/v1/practice-models" in str(caught.value)


def test_errors_never_quote_the_document():
    secret = "010190-999W"
    for body in (f'{{"hetu": "{secret}", oops}}', f'{{"hetu": "{secret}"'):
        with pytest.raises(JsonDocumentError) as caught:
            parse(body)
        assert secret not in str(caught.value)
