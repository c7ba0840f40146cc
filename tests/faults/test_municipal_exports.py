"""Hostile nightly exports of the municipal case system: whole documents or nothing, poison
records quarantined while the rest flows.

The hostile server rewrites the sandbox's first export (``2026-11-20``) on its way to the
hub. Record-level faults break one record of a kind; the run must end in success with that
record a dead letter naming the field, and every other record stored once. Document-level
faults must end the run failed, naming the export, with nothing stored twice and nothing
taken as complete; once the export is whole again, the next run takes it all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from hub_municipal import mapping as m
from lxml import etree

from hub.privacy import HETU_PATTERN

from . import hostile as h
from .edits import attribute, first_to_last

NS = m.EXPORT_NS
EXPORT = "2026-11-20"
STREAM = {"episode": "service_episodes", "attendance": "attendance", "assessment": "assessments"}


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def child(record: etree._Element, name: str) -> etree._Element:
    found = record.find(q(name))
    assert found is not None, name
    return found


def set_text(name: str, value: str) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        found = record.find(q(name))
        if found is None:  # an optional field the record lacks: add it where it belongs
            found = etree.SubElement(record, q(name))
            order = [f.native for f in m.BY_ELEMENT[etree.QName(record).localname].fields]
            record[:] = sorted(record, key=lambda e: order.index(etree.QName(e).localname))
        found.text = value

    return change


def hetu_as(transform: Callable[[str], str]) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        hetu = child(record, "hetu")
        hetu.text = transform(hetu.text)

    return change


def add_after(name: str, new: str, text: str) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        elem = etree.Element(q(new))
        elem.text = text
        child(record, name).addnext(elem)

    return change


def remove(name: str) -> Callable[[etree._Element], None]:
    return lambda record: record.remove(child(record, name))


def second_hetu(record: etree._Element) -> None:
    code = child(record, "hetu").text
    other = "020290-998" + code[-1]  # shaped like a code; whose, no one can tell
    add_after("hetu", "hetu", other)(record)


def nested_in_hetu(record: etree._Element) -> None:
    hetu = child(record, "hetu")
    inner = etree.SubElement(hetu, q("b"))
    inner.text, hetu.text = hetu.text, None


def comment_in_hetu(record: etree._Element) -> None:
    hetu = child(record, "hetu")
    code = hetu.text
    hetu.text = code[:4]
    note = etree.Comment(" checked ")
    note.tail = code[4:]
    hetu.append(note)


def cdata_hetu(record: etree._Element) -> None:
    hetu = child(record, "hetu")
    hetu.text = etree.CDATA(hetu.text)


def fullwidth(code: str) -> str:
    return chr(0xFF10 + int(code[0])) + code[1:]


#: record-level faults: kind → name → change; each fails its one record
BROKEN: dict[str, dict[str, Callable[[etree._Element], None]]] = {
    "episode": {
        "hetu-given-twice": second_hetu,
        "hetu-lower-case": hetu_as(str.lower),
        "hetu-unicode-hyphen": hetu_as(lambda c: c[:6] + "\u2010" + c[7:]),
        "hetu-unicode-minus": hetu_as(lambda c: c[:6] + "\u2212" + c[7:]),
        "hetu-full-width-digit": hetu_as(fullwidth),
        "hetu-leading-space": hetu_as(lambda c: " " + c),
        "hetu-trailing-newline": hetu_as(lambda c: c + "\n"),
        "hetu-no-break-space": hetu_as(lambda c: c[:6] + "\u00a0" + c[7:]),
        "hetu-wrong-check-character": hetu_as(lambda c: c[:-1] + ("A" if c[-1] != "A" else "B")),
        "hetu-individual-number-001": hetu_as(lambda c: c[:7] + "001" + c[-1]),
        "hetu-empty": hetu_as(lambda c: ""),
        "hetu-missing": remove("hetu"),
        "hetu-nested-element": nested_in_hetu,
        "date-february-30": set_text("startDate", "2026-02-30"),
        "date-month-13": set_text("startDate", "2026-13-01"),
        "date-a-word": set_text("decisionDate", "yesterday"),
        "date-with-time": set_text("startDate", "2026-03-01T10:00:00"),
        "days-per-week-8": set_text("daysPerWeek", "8"),
        "days-per-week-minus-1": set_text("daysPerWeek", "-1"),
        "days-per-week-a-word": set_text("daysPerWeek", "three"),
        "days-per-week-fraction": set_text("daysPerWeek", "2.5"),
        "hours-per-day-25": set_text("hoursPerDay", "25"),
        "hours-per-day-exponent": set_text("hoursPerDay", "6e0"),
        "hours-per-day-nan": set_text("hoursPerDay", "NaN"),
        "status-unknown": set_text("status", "DONE"),
        "status-lower-case": set_text("status", "active"),
        "status-missing": remove("status"),
        "service-code-unknown": set_text("serviceCode", "KTT2"),
        "business-id-malformed": set_text("providerBusinessId", "1234567"),
        "reason-over-2000-characters": set_text("interruptionReason", "x" * 2001),
        "practice-model-upper-case": set_text("practiceModel", "Osku"),
        "outcome-unknown": set_text("outcome", "RETIRED"),
        "unknown-child-element": add_after("status", "favouriteColour", "blue"),
        "fields-out-of-order": first_to_last,
        "unknown-attribute": attribute("secret", "x"),
        "id-missing": attribute("id", None),
        "id-malformed": attribute("id", "X-1"),
        "id-over-the-limit": attribute("id", "E-" + "1" * 300),
        "ktt-five-days-a-week": set_text("daysPerWeek", "5"),  # valid XML, breaks a rule
        "ended-before-started": set_text("actualEndDate", "2000-01-01"),
    },
    "attendance": {
        "eight-attended-days": lambda r: [
            add_after("week", "attendedDate", "2026-03-02")(r) for _ in range(8)
        ],
        "week-53-of-a-52-week-year": set_text("week", "2026-W54"),
        "week-malformed": set_text("week", "2026-14"),
        "attended-date-not-a-date": lambda r: add_after("week", "attendedDate", "maanantai")(r),
        "hetu-given-twice": second_hetu,
        "episode-start-missing": remove("episodeStart"),
    },
    "assessment": {
        "score-11": set_text("workAbility", "11"),
        "score-minus-1": set_text("keho", "-1"),
        "score-a-word": set_text("mieli", "hyvä"),
        "score-decimal": set_text("arki", "7.5"),
        "assessed-on-missing": remove("assessedOn"),
        "hetu-lower-case": hetu_as(str.lower),
    },
}

#: record-level oddities that are NOT faults: the record is whole and must be stored
WHOLE = {
    "comment-inside-a-value": comment_in_hetu,
    "cdata-value": cdata_hetu,
    "character-reference": "charref",
    "processing-instruction-inside": "pi",
}


def export_path(request: h.Request) -> bool:
    return request.path == f"/exports/{EXPORT}"


def mutate(kind: str, index: int, change, hit: list[str]) -> h.Behaviour:
    """The export with the ``index``-th record of ``kind`` changed (its id noted in ``hit``)."""

    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        record = root.findall(q(kind))[index]
        hit.append(record.get("id"))
        if change == "charref":
            record.set("marker", "1")
            text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            code = child(record, "hetu").text
            return (
                text.replace(
                    f'marker="1"><hetu>{code}'.encode(),
                    f"><hetu>{code[:6]}&#45;{code[7:]}".encode(),
                )
                if code[6] == "-"
                else text.replace(b' marker="1"', b"")
            )
        if change == "pi":
            record.set("marker", "1")
            text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            code = child(record, "hetu").text
            return text.replace(
                f'marker="1"><hetu>{code}'.encode(),
                f"><hetu>{code[:3]}<?audit ok?>{code[3:]}".encode(),
            )
        change(record)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return h.with_body(transform)


CASES = [(kind, name) for kind, changes in BROKEN.items() for name in changes]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_a_broken_record_fails_alone(faults, kind, name):
    source = faults.source("municipal")
    hit: list[str] = []
    faults.hostile["municipal"].misbehave(
        mutate(kind, 3, BROKEN[kind][name], hit), when=export_path
    )
    summary, _ = faults.run("municipal")
    assert summary.state == "success_with_failures", summary.error
    stream = STREAM[kind]
    bad_id = hit[0]
    if name.startswith("id-"):  # the record has no usable id of its own: found by position
        ledger = faults.ledger("municipal")
        (letter_id,) = [i for i in ledger.dead[stream] if i not in source[stream]]
        ids = [letter_id if i == bad_id else i for i in source[stream]]
        source, bad_id = {**source, stream: ids}, letter_id
    ledger = faults.assert_ledger("municipal", summary, source=source, bad={stream: {bad_id}})
    reason = ledger.dead[stream][bad_id]
    assert f"municipal/{stream}/{bad_id[:100]}" in reason
    assert not HETU_PATTERN.search(reason), reason  # no identity code, ever


@pytest.mark.parametrize("name", list(WHOLE))
def test_a_whole_record_in_an_unusual_spelling_is_stored(faults, name):
    source = faults.source("municipal")
    hit: list[str] = []
    faults.hostile["municipal"].misbehave(mutate("episode", 3, WHOLE[name], hit), when=export_path)
    summary, _ = faults.run("municipal")
    assert summary.state == "success", summary.error
    ledger = faults.assert_ledger("municipal", summary, source=source)
    assert hit[0] in ledger.stored["service_episodes"]


# --- whole documents --------------------------------------------------------------------------


def _replace_first(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def transform(body: bytes) -> bytes:
        assert old in body, old
        return body.replace(old, new, 1)

    return transform


def _after_record(n: int, insert: bytes) -> Callable[[bytes], bytes]:
    """Insert ``insert`` after the n-th record (of any kind)."""

    def transform(body: bytes) -> bytes:
        lines = body.split(b"\n")
        # the sandbox writes one record a line after the root's start tag
        return b"\n".join([*lines[: 2 + n], insert, *lines[2 + n :]])

    return transform


def _re_encode(encoding: str) -> Callable[[bytes], bytes]:
    def transform(body: bytes) -> bytes:
        declared = f'encoding="{encoding}"'
        text, n = re.subn(r"encoding=[\"']UTF-8[\"']", declared, body.decode(), count=1)
        assert n == 1
        return text.encode(encoding)

    return transform


ROOT = b"<export "

#: document-level faults: (change of the export's bytes, words of the error)
DOCUMENTS: dict[str, tuple[Callable[[bytes], bytes], tuple[str, ...]]] = {
    "last-2-kib-missing": (lambda b: b[:-2048], ("not whole", "ends before")),
    "last-10-bytes-missing": (lambda b: b[:-10], ("not whole", "ends before")),
    "half-missing": (lambda b: b[: len(b) // 2], ("not whole", "ends before")),
    "only-the-declaration": (
        lambda b: b[: b.index(b"?>") + 2],
        ("not whole", "no root", "ends before"),
    ),
    "empty-body": (lambda b: b"", ("not whole", "ends before")),
    "whitespace-only": (lambda b: b"\n\n   \n", ("not whole", "ends before")),
    "another-export-id": (
        _replace_first(b'exportId="2026-11-20"', b'exportId="2026-11-21"'),
        ("is export 2026-11-21",),
    ),
    "another-municipality": (
        _replace_first(b'municipality="743"', b'municipality="092"'),
        ("municipality 092",),
    ),
    "root-renamed": (
        lambda b: b.replace(b"<export ", b"<exports ", 1).replace(b"</export>", b"</exports>"),
        ("root element",),
    ),
    "root-in-another-namespace": (
        _replace_first(m.EXPORT_NS.encode(), b"urn:other"),
        ("root element",),
    ),
    "root-without-generated": (
        lambda b: b.replace(b' generated="', b' g="', 1),
        ("generated", "export"),
    ),
    "root-with-a-bad-export-id": (
        _replace_first(b'exportId="2026-11-20"', b'exportId="x y"'),
        ("exportId", "export"),
    ),
    "doctype": (lambda b: b.replace(b"?>", b"?>\n<!DOCTYPE export>", 1), ("DOCTYPE",)),
    "internal-entity": (
        lambda b: b.replace(b"?>", b'?>\n<!DOCTYPE export [<!ENTITY e "x">]>', 1),
        ("DOCTYPE",),
    ),
    "external-entity": (
        lambda b: b.replace(
            b"?>", b'?>\n<!DOCTYPE export [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1
        ),
        ("DOCTYPE",),
    ),
    "undeclared-entity-reference": (
        _after_record(2, b"<episode>&secret;</episode>"),
        ("not well-formed", "refused", "Entity"),
    ),
    "text-between-records": (_after_record(2, b"stray words"), ("outside any record",)),
    "invalid-utf-8": (_after_record(2, b"<x>\xff\xfe</x>"), ("refused",)),
    "control-character-reference": (_after_record(2, b"<x>&#1;</x>"), ("refused",)),
    "content-after-the-root": (
        lambda b: b + b"<export/>",
        ("refused", "not whole", "Extra content"),
    ),
    "mismatched-tags": (_after_record(2, b"<episode id='E-999999'></episod>"), ("refused",)),
    "nested-10000-deep": (_after_record(2, b"<x>" * 10000 + b"</x>" * 10000), ("refused",)),
    "text-node-of-12-mib": (_after_record(2, b"<x>" + b"a" * (12 << 20) + b"</x>"), ("refused",)),
}

#: oddities of a whole document that must not refuse it
WHOLE_DOCUMENTS: dict[str, Callable[[bytes], bytes]] = {
    "utf-16": _re_encode("UTF-16"),
    "byte-order-mark": lambda b: b"\xef\xbb\xbf" + b,
    "latin-1-declared": _re_encode("ISO-8859-1"),
    "no-declaration": lambda b: b[b.index(b"?>") + 2 :].lstrip(),
    "comments-between-records": _after_record(2, b"<!-- a note for the night shift -->"),
    "windows-line-ends": lambda b: b.replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_a_document_that_is_not_whole_is_not_taken(faults, name):
    source = faults.source("municipal")
    change, words = DOCUMENTS[name]
    server = faults.hostile["municipal"]
    server.misbehave(h.with_body(change), when=export_path)
    summary, _ = faults.run("municipal")
    assert summary.state == "failed"
    assert f"export {EXPORT}" in summary.error and any(w in summary.error for w in words), (
        summary.error
    )
    faults.assert_ledger("municipal", summary, source=source)
    with faults.hub.store.transaction() as conn:
        from hub.store import runs

        cursors = {s: runs.get_cursor(conn, "municipal_in", s) for s in STREAM.values()}
    assert not any(c and c.startswith(EXPORT) and c.endswith("#done") for c in cursors.values())

    server.clear()
    healed, _ = faults.run("municipal")
    assert healed.state == "success", healed.error
    faults.assert_ledger("municipal", healed, source=source)


@pytest.mark.parametrize("name", list(WHOLE_DOCUMENTS))
def test_a_whole_document_in_an_unusual_form_is_taken(faults, name):
    source = faults.source("municipal")
    faults.hostile["municipal"].misbehave(h.with_body(WHOLE_DOCUMENTS[name]), when=export_path)
    summary, _ = faults.run("municipal")
    assert summary.state == "success", summary.error
    faults.assert_ledger("municipal", summary, source=source)


def _declare_decision(page: dict) -> dict:
    entry = page["exports"][0]
    entry["counts"]["decision"] = 1
    entry["records"] += 1
    return page


def test_an_element_of_no_known_kind_is_kept_once_per_stream_and_the_rest_flows(faults):
    """The case system lists and sends a kind the hub does not know: each stream reading
    the export keeps it as a dead letter (it may be a record of any of them), the rest of
    the export flows and the export is done."""
    source = faults.source("municipal")
    server = faults.hostile["municipal"]
    server.misbehave(
        h.with_body(_after_record(4, b'<decision id="D-000001"><hetu>x</hetu></decision>')),
        when=export_path,
    )
    server.misbehave(listing(_declare_decision), when=lambda r: r.path == "/exports")
    summary, _ = faults.run("municipal")
    assert summary.state == "success_with_failures", summary.error
    ledger = faults.ledger("municipal")
    extra = {}
    for stream in STREAM.values():
        foreign = [i for i in ledger.dead[stream] if "decision@line-" in i]
        assert len(foreign) == 1, (stream, ledger.dead[stream])
        assert "none of the export's records" in ledger.dead[stream][foreign[0]]
        extra[stream] = set(foreign)
    faults.assert_ledger("municipal", summary, source=source, extra=extra)


def test_an_element_the_listing_does_not_declare_keeps_the_export_open(faults):
    source = faults.source("municipal")
    server = faults.hostile["municipal"]
    server.misbehave(
        h.with_body(_after_record(4, b'<decision id="D-000001"><hetu>x</hetu></decision>')),
        when=export_path,
    )
    summary, _ = faults.run("municipal")
    assert summary.state == "failed"
    assert "0 <decision> declared, 1 held" in summary.error
    ledger = faults.ledger("municipal")
    extra = {s: {i for i in ledger.dead[s] if "decision@line-" in i} for s in STREAM.values()}
    faults.assert_ledger("municipal", summary, source=source, extra=extra)


# --- the export listing -----------------------------------------------------------------------


def listing(transform: Callable[[dict], object]) -> h.Behaviour:
    def change(body: bytes) -> bytes:
        out = transform(json.loads(body))
        return out if isinstance(out, bytes) else json.dumps(out).encode()

    return h.with_body(change)


def first_export(change: Callable[[dict], None]) -> Callable[[dict], dict]:
    def transform(page: dict) -> dict:
        change(page["exports"][0])
        return page

    return transform


LISTINGS: dict[str, tuple[Callable[[dict], object], tuple[str, ...]]] = {
    "counts-one-more": (
        first_export(lambda e: e["counts"].update(episode=e["counts"]["episode"] + 1)),
        ("does not hold what the listing declares",),
    ),
    "counts-one-fewer": (
        first_export(lambda e: e["counts"].update(attendance=e["counts"]["attendance"] - 1)),
        ("does not hold what the listing",),
    ),
    "records-one-more": (
        first_export(lambda e: e.update(records=e["records"] + 1)),
        ("does not hold what the listing",),
    ),
    "bytes-wrong": (first_export(lambda e: e.update(bytes=12)), ("bytes declared",)),
    "a-kind-never-sent": (
        first_export(lambda e: e["counts"].update(decision=2)),
        ("does not hold what the listing",),
    ),
    "count-negative": (first_export(lambda e: e.update(records=-1)), ("whole number",)),
    "count-a-string": (first_export(lambda e: e.update(records="130")), ("whole number",)),
    "count-nan": (
        lambda p: re.sub(r'"records": \d+', '"records": NaN', json.dumps(p), count=1).encode(),
        ("NaN is not a JSON number",),
    ),
    "count-infinite": (
        lambda p: re.sub(r'"records": \d+', '"records": 1e999', json.dumps(p), count=1).encode(),
        ("too large",),
    ),
    "count-fraction": (first_export(lambda e: e.update(records=1.5)), ("whole number",)),
    "id-with-a-slash": (first_export(lambda e: e.update(id="../etc")), ("valid id",)),
    "id-missing": (first_export(lambda e: e.pop("id")), ("valid id",)),
    "id-listed-twice": (
        lambda p: {"exports": p["exports"] + p["exports"][:1]},
        ("lists an export twice",),
    ),
    "not-a-list": (lambda p: {"exports": {"id": "2026-11-20"}}, ("not a valid export listing",)),
    "key-given-twice": (
        lambda p: b'{"exports": [], ' + json.dumps(p)[1:].encode(),
        ("given 2 times",),
    ),
    "cut-short": (lambda p: json.dumps(p).encode()[:-5], ("ends before",)),
    "html-instead": (lambda p: b"<html><body>Maintenance</body></html>", ("not JSON",)),
}


@pytest.mark.parametrize("name", list(LISTINGS))
def test_a_listing_that_cannot_be_trusted_stops_the_run(faults, name):
    source = faults.source("municipal")
    transform, words = LISTINGS[name]
    server = faults.hostile["municipal"]
    server.misbehave(listing(transform), when=lambda r: r.path == "/exports")
    summary, _ = faults.run("municipal")
    assert summary.state == "failed"
    assert any(w in summary.error for w in words), summary.error
    faults.assert_ledger("municipal", summary, source=source)
    server.clear()
    healed, _ = faults.run("municipal")
    assert healed.state == "success", healed.error
    faults.assert_ledger("municipal", healed, source=source)
