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
