"""Hostile pages of the JSON sources (the employment authority's clients, Innokylä's
practice-model catalogue): a flaw inside one record fails that record and the rest flows;
a page that cannot be read as a whole fails the run naming it, and is read again later.

The hostile server rewrites the first page of the list as text, so that it can hold what
no JSON library writes: keys given twice, lone surrogates, NaN, numbers beyond any float,
nesting deep enough to exhaust an interpreter.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Callable

import pytest
from hub_innokyla import mapping as ik
from hub_te_office import mapping as te
from support.states import whole_read_state

from . import hostile as h

#: system → (stream, id field, the first page of the list)
LISTS = {
    "te_office": (
        "clients",
        te.ID_FIELD["clients"],
        lambda r: r.method == "GET" and "/clients" in r.path and "modifiedAfter" not in r.path,
    ),
    "innokyla": (
        "practice_models",
        ik.MODEL_ID,
        lambda r: r.method == "GET" and ik.PATH_MODELS in r.path and "modifiedAfter" not in r.path,
    ),
}
INDEX = 1  # the record of the first page that is broken


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def with_field(name: str, raw: str) -> Callable[[dict, str], str]:
    """The record with ``"name": raw`` added as text (``raw`` any JSON-ish text)."""

    def change(item: dict, id_field: str) -> str:
        return dumps(item)[:-1] + f', "{name}": {raw}' + "}"

    return change


def replaced(name_of: Callable[[str], str], raw: str) -> Callable[[dict, str], str]:
    """The record with a field (named from the id field) given ``raw`` as its value."""

    def change(item: dict, id_field: str) -> str:
        name = name_of(id_field)
        rest = {k: v for k, v in item.items() if k != name}
        return dumps(rest)[:-1] + f', "{name}": {raw}' + "}"

    return change


def id_twice(item: dict, id_field: str) -> str:
    return dumps(item)[:-1] + f', "{id_field}": "{item[id_field]}-other"' + "}"


def whole(raw: str) -> Callable[[dict, str], str]:
    return lambda item, id_field: raw


#: record-level flaws: name → record as text
RECORDS: dict[str, Callable[[dict, str], str]] = {
    "lone-surrogate-value": with_field("note", '"abc\\ud800def"'),
    "lone-low-surrogate": with_field("note", '"\\udc00"'),
    "lone-surrogate-key": with_field("x\\ud800", "1"),
    "reversed-surrogate-pair": with_field("note", '"\\udc00\\ud800"'),
    "key-given-twice": with_field("note", '"a", "note": "b"'),
    "id-given-twice": id_twice,
    "nan": with_field("score", "NaN"),
    "infinity": with_field("score", "Infinity"),
    "minus-infinity": with_field("score", "-Infinity"),
    "float-overflow": with_field("score", "1e999"),
    "integer-of-5000-digits": with_field("score", "9" * 5000),
    "nested-40-deep": with_field("deep", "[" * 40 + "]" * 40),
    "nested-600-deep": with_field("deep", '{"a":' * 600 + "1" + "}" * 600),
    "a-string-not-a-record": whole('"just text"'),
    "a-number-not-a-record": whole("42"),
    "null-not-a-record": whole("null"),
    "a-list-not-a-record": whole("[1, 2]"),
    "id-missing": lambda item, id_field: dumps({k: v for k, v in item.items() if k != id_field}),
    "id-a-number": replaced(lambda f: f, "12345"),
    "id-empty": replaced(lambda f: f, '""'),
    "id-with-a-control-character": replaced(lambda f: f, '"C-\\u0001"'),
    "id-of-300-characters": replaced(lambda f: f, dumps("C-" + "9" * 298)),
    "id-a-lone-surrogate": replaced(lambda f: f, '"C-\\ud800"'),
    "modified-missing": lambda item, id_field: dumps(
        {k: v for k, v in item.items() if k != "modified"}
    ),
    "modified-a-number": replaced(lambda f: "modified", "20261001"),
}

#: oddities that are not faults: the record is whole and must be stored
WHOLE_RECORDS: dict[str, Callable[[dict, str], str]] = {
    "unknown-extra-field": with_field("favouriteColour", '"blue"'),
    "escaped-non-bmp-character": with_field("note", '"\\ud83d\\ude00"'),
    "escaped-slashes-and-quotes": with_field("note", '"a\\/b \\"c\\""'),
    "number-with-exponent": with_field("score", "1.5e2"),
}


def page_with(index: int, change: Callable[[dict, str], str], id_field: str, hit: list):
    """The page with its ``index``-th record replaced by ``change(record)`` (as text)."""

    def transform(body: bytes) -> bytes:
        page = json.loads(body)
        items = page["items"]
        hit.append(items[index].get(id_field))
        texts = [dumps(i) for i in items]
        texts[index] = change(items[index], id_field)
        rest = {k: v for k, v in page.items() if k != "items"}
        return ("{" + f'"items": [{", ".join(texts)}], ' + dumps(rest)[1:]).encode()

    return h.with_body(transform)


CASES = [(s, n) for s in LISTS for n in RECORDS]


@pytest.mark.parametrize(("system", "name"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_a_flawed_record_fails_alone(faults, system, name):
    source = faults.source(system)
    stream, id_field, first_page = LISTS[system]
    hit: list[str] = []
    server = faults.hostile[system]
    server.misbehave(page_with(INDEX, RECORDS[name], id_field, hit), when=first_page)
    summary, _ = faults.run(system)
    assert summary.state == "success_with_failures", summary.error
    ledger = faults.ledger(system)
    bad_id = hit[0]
    if bad_id not in ledger.dead[stream]:  # a record with no usable id: named by position
        (letter,) = [i for i in ledger.dead[stream] if i not in source[stream]]
        ids = [letter if i == bad_id else i for i in source[stream]]
        source, bad_id = {**source, stream: ids}, letter
    faults.assert_ledger(system, summary, source=source, bad={stream: {bad_id}})


WHOLE_CASES = [(s, n) for s in LISTS for n in WHOLE_RECORDS]


@pytest.mark.parametrize(("system", "name"), WHOLE_CASES, ids=[f"{s}-{n}" for s, n in WHOLE_CASES])
def test_a_whole_record_in_an_unusual_spelling_is_stored(faults, system, name):
    source = faults.source(system)
    stream, id_field, first_page = LISTS[system]
    hit: list[str] = []
    faults.hostile[system].misbehave(
        page_with(INDEX, WHOLE_RECORDS[name], id_field, hit), when=first_page
    )
    summary, _ = faults.run(system)
    assert summary.state == whole_read_state(system), summary.error
    ledger = faults.assert_ledger(system, summary, source=source)
    assert hit[0] in ledger.stored[stream]


def envelope(change: Callable[[dict], object]) -> h.Behaviour:
    def transform(body: bytes) -> bytes:
        out = change(json.loads(body))
        return out if isinstance(out, bytes) else dumps(out).encode()

    return h.with_body(transform)


#: page-level faults: name → (change of the page, words of the error)
PAGES: dict[str, tuple[h.Behaviour, tuple[str, ...]]] = {
    "cut-short": (h.with_body(lambda b: b[: len(b) // 2]), ("ends before", "complete")),
    "cut-inside-a-literal": (
        h.with_body(lambda b: b[: b.index(b"true") + 2]),
        ("ends before", "complete"),
    ),
    "empty": (h.with_body(lambda b: b""), ("empty", "ends before")),
    "html": (h.with_body(lambda b: b"<html><body>Gateway</body></html>"), ("not JSON",)),
    "items-not-a-list": (envelope(lambda p: {**p, "items": {"a": 1}}), ("items", "page")),
    "items-given-twice": (h.with_body(lambda b: b'{"items": [], ' + b[1:]), ("2 times",)),
    "has-more-nan": (
        h.with_body(lambda b: b.replace(b"true", b"NaN").replace(b"false", b"NaN")),
        ("NaN", "hasMore"),
    ),
    "has-more-a-word": (envelope(lambda p: {**p, "hasMore": "yes"}), ("hasMore",)),
    "a-list-not-a-page": (envelope(lambda p: p["items"]), ("page",)),
    "invalid-utf-8": (h.with_body(lambda b: b.replace(b'"items"', b'"items\xff"', 1)), ("UTF-8",)),
    "utf-16": (h.with_body(lambda b: b.decode().encode("utf-16")), ("UTF-8", "not JSON")),
    "nested-10000-deep": (h.with_body(lambda b: b"[" * 10000 + b"]" * 10000), ("deep", "not JSON")),
    "page-of-62-mib": (h.padded(62), ("larger than", "cap")),
}

PAGE_CASES = [(s, n) for s in LISTS for n in PAGES]


@pytest.mark.parametrize(("system", "name"), PAGE_CASES, ids=[f"{s}-{n}" for s, n in PAGE_CASES])
def test_a_page_that_cannot_be_read_whole_fails_the_run(faults, system, name):
    source = faults.source(system)
    _, _, first_page = LISTS[system]
    behaviour, words = PAGES[name]
    server = faults.hostile[system]
    server.misbehave(behaviour, when=first_page)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary, _ = faults.run(system)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 300
    assert summary.state == "failed"
    assert any(w in summary.error for w in words), summary.error
    faults.assert_ledger(system, summary, source=source)
    server.clear()
    healed, _ = faults.run(system)
    assert healed.state == whole_read_state(system), healed.error
    faults.assert_ledger(system, healed, source=source)
