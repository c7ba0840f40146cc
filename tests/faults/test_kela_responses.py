"""Hostile answers of Kela's services: every response checked against its contract.

The hostile server rewrites the sandbox's SOAP answers on their way to the hub: one line of
a month's billing list, one benefit-day count or one notice broken (that record a dead
letter, the rest stored once, the run a success), or the whole list or page broken (the run
failed naming it, the month not done, nothing stored twice; whole again, all of it taken).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hub_kela import mapping as m
from lxml import etree

from hub.privacy import HETU_PATTERN
from hub.store import runs

from . import hostile as h
from .edits import attribute, first_to_last

MONTH = "2026-08"
K = f"{{{m.KELA_NS}}}"


def billing_of(month: str) -> Callable[[h.Request], bool]:
    return lambda r: b"laskutuslistaRequest" in r.body and month.encode() in r.body


def service(name: str) -> Callable[[h.Request], bool]:
    return lambda r: f"{name}Request".encode() in r.body


def set_child(name: str, value: str | None) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        found = record.find(K + name)
        if value is None:
            record.remove(found)
        elif found is None:
            etree.SubElement(record, K + name).text = value
        else:
            found.text = value

    return change


def twice(name: str, value: str) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        extra = etree.Element(K + name)
        extra.text = value
        record.find(K + name).addnext(extra)

    return change


def hetu_as(transform: Callable[[str], str]) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        hetu = record.find(K + "hetu")
        hetu.text = transform(hetu.text)

    return change


def nested(name: str) -> Callable[[etree._Element], None]:
    def change(record: etree._Element) -> None:
        field = record.find(K + name)
        inner = etree.SubElement(field, K + "arvo")
        inner.text, field.text = field.text, None

    return change


def unknown_child(record: etree._Element) -> None:
    etree.SubElement(record, K + "huomautus").text = "tarkista"


#: billing-line faults: name → change of one line
LINES: dict[str, Callable[[etree._Element], None]] = {
    "hetu-given-twice": twice("hetu", "020290-998X"),
    "hetu-lower-case": hetu_as(str.lower),
    "hetu-unicode-dash": hetu_as(lambda c: c[:6] + "\u2013" + c[7:]),
    "hetu-full-width-digits": hetu_as(
        lambda c: "".join(chr(0xFF10 + int(d)) for d in c[:6]) + c[6:]
    ),
    "hetu-wrong-check-character": hetu_as(lambda c: c[:-1] + ("A" if c[-1] != "A" else "B")),
    "hetu-missing": set_child("hetu", None),
    "benefit-code-unknown": set_child("etuus", "XYZ"),
    "paid-negative": set_child("maksettu", "-10.00"),
    "paid-three-decimals": set_child("maksettu", "10.001"),
    "paid-a-word": set_child("maksettu", "kymppi"),
    "share-over-100-percent": set_child("osuusProsentti", "101"),
    "days-not-a-number": set_child("paivatAlkaen", "sata"),
    "days-zero": set_child("paivatAlkaen", "0"),
    "municipal-share-nested": nested("kunnanOsuus"),
    "unknown-child": unknown_child,
    "fields-out-of-order": first_to_last,
    "share-not-the-steps": set_child("osuusProsentti", "99.00"),  # valid XML, breaks a rule
}


def mutate_line(month: str, number: int, change, hit: list[str]) -> h.Behaviour:
    """The month's list with line ``number`` changed (in whichever response holds it: a
    month is read again from the first line not committed)."""

    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        for line in root.iter(f"{K}rivi"):
            if line.get("nro") == str(number):
                hit.append(f"{month}/{number}")
                change(line)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return h.with_body(transform)


@pytest.mark.parametrize("name", list(LINES))
def test_a_broken_billing_line_fails_alone(faults, name):
    source = faults.source("kela")
    hit: list[str] = []
    faults.hostile["kela"].misbehave(
        mutate_line(MONTH, 6, LINES[name], hit), when=billing_of(MONTH)
    )
    summary, _ = faults.run("kela")
    assert summary.state == "success_with_failures", summary.error
    ledger = faults.assert_ledger("kela", summary, source=source, bad={"billing_lines": {hit[0]}})
    reason = ledger.dead["billing_lines"][hit[0]]
    assert not HETU_PATTERN.search(reason), reason


def test_a_line_without_its_number_fails_alone(faults):
    source = faults.source("kela")
    hit: list[str] = []
    faults.hostile["kela"].misbehave(
        mutate_line(MONTH, 6, attribute("nro", "kuusi"), hit), when=billing_of(MONTH)
    )
    summary, _ = faults.run("kela")
    assert summary.state == "success_with_failures", summary.error
    ledger = faults.assert_ledger("kela", summary, source=source, bad={"billing_lines": {hit[0]}})
    assert "nro" in ledger.dead["billing_lines"][hit[0]]


def test_an_element_of_no_known_kind_between_lines_is_kept_and_the_rest_flows(faults):
    source = faults.source("kela")

    def add(body: bytes) -> bytes:
        root = etree.fromstring(body)
        for line in root.iter(f"{K}rivi"):
            if line.get("nro") == "4":
                extra = etree.Element(K + "oikaisu")
                extra.text = "1"
                line.addnext(extra)
                break
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    faults.hostile["kela"].misbehave(h.with_body(add), when=billing_of(MONTH))
    summary, _ = faults.run("kela")
    assert summary.state == "success_with_failures", summary.error
    ledger = faults.ledger("kela")
    foreign = {i for i in ledger.dead["billing_lines"] if i not in source["billing_lines"]}
    assert len(foreign) == 1
    faults.assert_ledger("kela", summary, source=source, extra={"billing_lines": foreign})


def _lines(change: Callable[[list[etree._Element], etree._Element], None]):
    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        listing = root.find(f".//{K}laskutuslista")
        change(listing.findall(K + "rivi"), listing)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return transform


def _swap(lines, listing) -> None:
    a, b = lines[3], lines[4]
    a.set("nro", b.get("nro"))
    b.set("nro", str(int(a.get("nro")) - 1))


def _header(change: Callable[[etree._Element], None]):
    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        change(root.find(f"{{{m.SOAP_NS}}}Header"))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return transform


#: billing-list faults of the whole document: (change of the bytes, words of the error)
LISTS: dict[str, tuple[Callable[[bytes], bytes], tuple[str, ...]]] = {
    "last-2-kib-missing": (lambda b: b[:-2048], ("not taken as complete", "ends before")),
    "cut-mid-line": (
        lambda b: b[: list(re.finditer(rb"<(\w+:)?rivi ", b))[-1].start() + 30],
        ("complete", "ends before"),
    ),
    "last-line-missing": (
        _lines(lambda lines, listing: listing.remove(lines[-1])),
        ("declares", "holds"),
    ),
    "a-line-too-many": (
        _lines(lambda lines, listing: listing.append(etree.fromstring(etree.tostring(lines[-1])))),
        ("declares", "out of order", "holds"),
    ),
    "lines-out-of-order": (_lines(_swap), ("out of order",)),
    "line-given-twice": (
        _lines(lambda lines, listing: lines[4].addnext(etree.fromstring(etree.tostring(lines[4])))),
        ("out of order",),
    ),
    "another-month": (
        lambda b: b.replace(b'kuukausi="2026-08"', b'kuukausi="2026-09"', 1),
        ("2026-09", "month"),
    ),
    "another-municipality": (
        lambda b: re.sub(rb'kunta="\d{3}"', b'kunta="092"', b, count=1),
        ("092", "municipality"),
    ),
    "text-between-lines": (
        lambda b: re.sub(rb"(</(\w+:)?rivi>)", rb"\1stray", b, count=1),
        ("text", "outside"),
    ),
    "no-x-road-header": (_header(lambda h_: h_.getparent().remove(h_)), ("header",)),
    "header-of-another-message": (
        _header(lambda h_: setattr(h_.find(f"{{{m.XROAD_NS}}}id"), "text", "another-id")),
        ("echo", "<id>"),
    ),
    "request-hash-wrong": (
        _header(lambda h_: setattr(h_.find(f"{{{m.XROAD_NS}}}requestHash"), "text", "AAAA")),
        ("requestHash",),
    ),
    "doctype": (lambda b: b.replace(b"?>", b"?>\n<!DOCTYPE x>", 1), ("DOCTYPE",)),
    "empty-body": (lambda b: b"", ("complete", "ends before", "empty")),
    "soap-fault-with-200": (
        lambda b: (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soapenv:Body><soapenv:Fault><faultcode>Server.ServerProxy.ServiceFailed</faultcode>"
            b"<faultstring>down</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ),
        ("fault", "Fault", "header"),
    ),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_a_billing_list_that_is_not_whole_is_not_taken(faults, name):
    source = faults.source("kela")
    change, words = LISTS[name]
    server = faults.hostile["kela"]
    server.misbehave(h.with_body(change), when=billing_of(MONTH))
    summary, _ = faults.run("kela")
    assert summary.state == "failed"
    assert any(w in summary.error for w in words), summary.error
    faults.assert_ledger("kela", summary, source=source)
    with faults.hub.store.transaction() as conn:
        cursor = runs.get_cursor(conn, "kela_in", "billing_lines") or ""
    assert cursor != f'["{MONTH}", "done"]' and MONTH in (cursor or MONTH)

    server.clear()
    healed, _ = faults.run("kela")
    assert healed.state == "success", healed.error
    faults.assert_ledger("kela", healed, source=source)


# --- pages of benefit days and notices ------------------------------------------------------


def mutate_item(element: str, index: int, change, hit: list[str]) -> h.Behaviour:
    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        items = root.findall(f".//{K}{element}")
        if len(items) <= index:  # a later page
            return body
        item = items[index]
        hit.append(item.get("nro"))
        change(item)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return h.with_body(transform)


PAGES: dict[str, tuple[str, str, str, Callable[[etree._Element], None]]] = {
    "count-hetu-twice": ("etuuspaivat", "kertyma", "benefit_days", twice("hetu", "020290-998X")),
    "count-days-negative": ("etuuspaivat", "kertyma", "benefit_days", set_child("paivia", "-5")),
    "count-date-malformed": (
        "etuuspaivat",
        "kertyma",
        "benefit_days",
        set_child("pvm", "31.12.2026"),
    ),
    "count-unknown-child": ("etuuspaivat", "kertyma", "benefit_days", unknown_child),
    "notice-kind-unknown": ("ilmoitukset", "ilmoitus", "notifications", set_child("laji", "MUU")),
    "notice-sent-not-a-time": (
        "ilmoitukset",
        "ilmoitus",
        "notifications",
        set_child("lahetetty", "eilen"),
    ),
    "notice-urgent-maybe": (
        "ilmoitukset",
        "ilmoitus",
        "notifications",
        set_child("kiireellinen", "ehkä"),
    ),
    "notice-hetu-lower-case": ("ilmoitukset", "ilmoitus", "notifications", hetu_as(str.lower)),
    "notice-reference-missing": (
        "ilmoitukset",
        "ilmoitus",
        "notifications",
        set_child("viite", None),
    ),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_a_broken_record_of_a_page_fails_alone(faults, name):
    source = faults.source("kela")
    svc, element, stream, change = PAGES[name]
    hit: list[str] = []
    faults.hostile["kela"].misbehave(
        mutate_item(element, 2, change, hit), when=service(svc), times=1
    )
    summary, _ = faults.run("kela")
    assert summary.state == "success_with_failures", summary.error
    faults.assert_ledger("kela", summary, source=source, bad={stream: {hit[0]}})


def _page(change: Callable[[etree._Element], None]) -> Callable[[bytes], bytes]:
    def transform(body: bytes) -> bytes:
        root = etree.fromstring(body)
        change(root.find(f".//{K}etuuspaivatResponse"))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return transform


PAGE_DOCUMENTS: dict[str, tuple[Callable[[bytes], bytes], tuple[str, ...]]] = {
    "more-is-maybe": (_page(lambda r: r.set(m.MORE, "maybe")), ("lisaa", "valid")),
    "numbers-go-back": (
        _page(lambda r: [i.set("nro", "1") for i in r.iter(K + "kertyma")]),
        ("does not move on",),
    ),
    "cut-short": (lambda b: b[:-300], ("complete", "ends before")),
    "two-answers": (
        lambda b: b.replace(b"</soapenv:Body>", b"<k:etuuspaivatResponse/></soapenv:Body>"),
        ("Response", "one"),
    ),
}


@pytest.mark.parametrize("name", list(PAGE_DOCUMENTS))
def test_a_page_that_cannot_be_trusted_fails_the_run(faults, name):
    source = faults.source("kela")
    change, words = PAGE_DOCUMENTS[name]
    server = faults.hostile["kela"]
    server.misbehave(h.with_body(change), when=service("etuuspaivat"))
    summary, _ = faults.run("kela")
    assert summary.state == "failed"
    assert any(w in summary.error for w in words), summary.error
    faults.assert_ledger("kela", summary, source=source)
    server.clear()
    healed, _ = faults.run("kela")
    assert healed.state == "success", healed.error
    faults.assert_ledger("kela", healed, source=source)


MONTHS_LISTS: dict[str, Callable[[bytes], bytes]] = {
    "rows-not-a-number": lambda b: re.sub(rb'rivit="\d+"', b'rivit="many"', b, count=1),
    "month-malformed": lambda b: b.replace(b">2026-08<", b">2026-8<", 1),
    "month-given-twice": lambda b: re.sub(
        rb"(<(\w+:)?kuukausi [^>]*>2026-08</(\w+:)?kuukausi>)", rb"\1\1", b, count=1
    ),
}


@pytest.mark.parametrize("name", list(MONTHS_LISTS))
def test_a_months_list_that_cannot_be_trusted_stops_the_billing(faults, name):
    source = faults.source("kela")
    server = faults.hostile["kela"]
    server.misbehave(h.with_body(MONTHS_LISTS[name]), when=service("laskutuslistat"))
    summary, _ = faults.run("kela")
    assert summary.state == "failed", summary
    assert "laskutuslistat" in summary.error
    faults.assert_ledger("kela", summary, source=source)
    server.clear()
    healed, _ = faults.run("kela")
    assert healed.state == "success", healed.error
    faults.assert_ledger("kela", healed, source=source)
