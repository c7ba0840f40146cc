"""The one XML parser refuses external entities, entity bombs, DTDs and oversized input."""

import pytest

from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError, iter_elements, parse_bytes

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r><a>&x;</a></r>"""

XXE_PARAM = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<r><a>x</a></r>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz><a>&lol9;</a></lolz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "file:///etc/passwd"><r><a>x</a></r>"""


def stream(data: bytes, size: int = 16):
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize(
    "doc", [XXE, XXE_PARAM, BOMB, EXTERNAL_DTD], ids=["xxe", "param", "bomb", "dtd"]
)
def test_whole_document_attacks_refused(doc):
    with pytest.raises(UnsafeXmlError):
        parse_bytes(doc)


@pytest.mark.parametrize(
    "doc", [XXE, XXE_PARAM, BOMB, EXTERNAL_DTD], ids=["xxe", "param", "bomb", "dtd"]
)
def test_streamed_attacks_refused(doc):
    with pytest.raises(UnsafeXmlError):
        for _ in iter_elements(stream(doc), "a"):
            pass


def test_passwd_never_appears(tmp_path):
    try:
        root = parse_bytes(XXE)
    except UnsafeXmlError:
        return
    pytest.fail(f"parsed: {root}")  # pragma: no cover


def test_size_cap():
    doc = b"<r>" + b"<a>x</a>" * 1000 + b"</r>"
    with pytest.raises(UnsafeXmlError, match="larger than"):
        parse_bytes(doc, max_bytes=100)
    with pytest.raises(UnsafeXmlError, match="larger than"):
        list(iter_elements(stream(doc, 64), "a", max_bytes=100))


def test_malformed_is_a_syntax_error():
    with pytest.raises(XmlSyntaxError):
        list(iter_elements(stream(b"<r><a>x</b></r>"), "a"))


def test_streaming_yields_every_element_with_flat_tree():
    doc = b"<r>" + b"".join(b'<a i="%d">v</a>' % i for i in range(5000)) + b"</r>"
    seen = []
    for elem in iter_elements(stream(doc, 100), "a"):
        seen.append(int(elem.get("i")))
        # processed siblings are dropped: the tree never holds more than a few elements
        assert len(elem.getparent()) <= 20  # bounded by one chunk, not the document
    assert seen == list(range(5000))


def test_named_siblings_are_dropped_as_they_end():
    # a rare wanted element among long runs of others (an export read for one record type)
    run = b"".join(b"<b>%d</b>" % i for i in range(2000))
    doc = b"<r>" + run + b"<a>1</a>" + run + b"<a>2</a>" + run + b"</r>"
    sizes = []
    for elem in iter_elements(stream(doc, 100), "a", siblings=("b",)):
        sizes.append(len(elem.getparent()))
    # of each run of 2 000 <b> only what the parser has read ahead in the current chunk of
    # 100 bytes is left in the tree, never the run
    assert len(sizes) == 2 and max(sizes) <= 20


# --- whole documents, record by record --------------------------------------------------

from lxml import etree  # noqa: E402

from hub.xmlsafe import (  # noqa: E402
    ElementStream,
    Foreign,
    IncompleteXmlError,
    RecordValidator,
    XmlContractError,
)

DOC = b'<?xml version="1.0"?>\n<r>\n<a i="1">x</a>\n<b/>\n<a i="2">y</a>\n</r>\n'


def read(doc: bytes, size: int = 7, **kw):
    stream = ElementStream(stream_of(doc, size), "a", siblings=("b",), **kw)
    return [x if isinstance(x, Foreign) else x.get("i") for x in stream], stream


def stream_of(data: bytes, size: int):
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("cut", [2, 3, 5, 9, 20, len(DOC) - 8, len(DOC) - 1])
def test_a_document_cut_short_is_never_taken_as_whole(cut):
    """libxml2 streaming with a schema and entities unresolved reports no premature end;
    the hub's stream never takes a schema and always knows whether the root was closed."""
    with pytest.raises(IncompleteXmlError):
        read(DOC[: len(DOC) - cut])


@pytest.mark.parametrize("doc", [b"", b"   ", b'<?xml version="1.0"?>\n', b"\n\n"])
def test_a_document_without_a_root_is_incomplete(doc):
    with pytest.raises(IncompleteXmlError):
        read(doc)


def test_the_whole_document_is_read_and_counted():
    ids, stream = read(DOC)
    assert ids == ["1", "2"] and stream.counts == {"a": 2, "b": 1}
    assert stream.root.tag == "r" and stream.bytes == len(DOC)


def test_elements_of_no_known_kind_are_reported_not_dropped():
    doc = b'<r><a i="1"/><x k="v">text<y/></x><b/><a i="2"/><z/></r>'
    ids, _ = read(doc, foreign=True)
    assert ids[0] == "1" and ids[2] == "2"
    assert [(f.name, f.xml) for f in ids if isinstance(f, Foreign)] == [
        ("x", '<x k="v">text<y/></x>'),
        ("z", "<z/>"),
    ]


@pytest.mark.parametrize(
    "doc",
    [b'<r>junk<a i="1"/></r>', b'<r><a i="1"/>junk<b/><a i="2"/></r>', b'<r><a i="1"/>x</r>'],
)
def test_text_between_records_is_a_contract_error(doc):
    with pytest.raises(XmlContractError):
        read(doc)


def test_a_comment_inside_a_value_does_not_cut_it_short():
    doc = b'<r><a i="1">0101<!-- note -->90-999W<?pi x?></a></r>'
    for elem in ElementStream(stream_of(doc, 3), "a"):
        assert elem.text == "010190-999W"
    assert parse_bytes(doc)[0].text == "010190-999W"


SCHEMA = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="a"><xs:complexType><xs:sequence>
    <xs:element name="hetu"><xs:simpleType><xs:restriction base="xs:string">
      <xs:pattern value="\\d{6}[-A]\\d{3}[0-9A-Y]"/></xs:restriction></xs:simpleType></xs:element>
  </xs:sequence><xs:attribute name="i" use="required"/></xs:complexType></xs:element>
</xs:schema>"""


def test_a_record_is_validated_alone_and_its_values_never_quoted(tmp_path):
    path = tmp_path / "a.xsd"
    path.write_bytes(SCHEMA)
    validator = RecordValidator(path)
    good = etree.fromstring(b'<a i="1"><hetu>010190-999W</hetu></a>')
    assert validator.invalid(good) is None
    bad = etree.fromstring(b'<a i="1"><hetu>010190-999w</hetu></a>')
    invalid = validator.invalid(bad)
    assert invalid.name == "hetu" and "pattern" in invalid.message
    assert "999w" not in invalid.message and "'…'" in invalid.message
    twice = etree.fromstring(b'<a i="1"><hetu>010190-999W</hetu><hetu>020290-998X</hetu></a>')
    assert validator.invalid(twice).name == "hetu"
