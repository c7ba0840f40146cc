"""X-Road SOAP 4.0 messages: headers built and validated against the official X-Road
schemas, envelopes, faults and the request hash. Shared by the adapter and the sandbox."""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from lxml import etree

from hub.errors import DeliveryError, PermanentError, TransientError
from hub.privacy import redact
from hub.resources import PackagedFile
from hub.xmlsafe import load_schema
from hub_kela import mapping as m

#: the official X-Road message schema (it imports ``identifiers.xsd`` beside it), carried by
#: this package: ``hub_kela/schemas/x-road/``
XROAD_XSD = PackagedFile("hub_kela", "schemas", "x-road", "xroad.xsd")
NSMAP = {"soapenv": m.SOAP_NS, "xrd": m.XROAD_NS, "id": m.ID_NS, "k": m.KELA_NS}


class InvalidHeader(ValueError):
    """An X-Road header element does not match the official schema."""


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def k(name: str) -> str:
    return q(m.KELA_NS, name)


@functools.cache
def xroad_schema() -> etree.XMLSchema:
    return load_schema(XROAD_XSD.path())  # ConfigError naming the file when it is missing


@dataclass(frozen=True)
class Headers:
    """The X-Road header of one message."""

    client: tuple[str, ...]  # instance, member class, member code, subsystem
    service: tuple[str, ...]  # instance, member class, member code, subsystem, code, version
    id: str
    user_id: str
    protocol_version: str = m.PROTOCOL_VERSION
    #: optional: the case the request belongs to (X-Road ``issue``)
    issue: str | None = None


def _identifier(name: str, object_type: str, values: tuple[str, ...], fields: tuple[str, ...]):
    elem = etree.Element(q(m.XROAD_NS, name), {q(m.ID_NS, "objectType"): object_type})
    for field, value in zip(fields, values, strict=True):
        etree.SubElement(elem, q(m.ID_NS, field)).text = value
    return elem


CLIENT_FIELDS = ("xRoadInstance", "memberClass", "memberCode", "subsystemCode")
SERVICE_FIELDS = (*CLIENT_FIELDS, "serviceCode", "serviceVersion")


def header_elements(h: Headers) -> list[etree._Element]:
    elements = [
        _identifier("client", "SUBSYSTEM", h.client, CLIENT_FIELDS),
        _identifier("service", "SERVICE", h.service, SERVICE_FIELDS),
    ]
    for name, value in (
        ("id", h.id),
        ("userId", h.user_id),
        ("issue", h.issue),
        ("protocolVersion", h.protocol_version),
    ):
        if value is None:
            continue
        elem = etree.Element(q(m.XROAD_NS, name))
        elem.text = value
        elements.append(elem)
    return elements


def validate_header(elements: list[etree._Element]) -> None:
    """Every header element against the official X-Road schema; raises InvalidHeader."""
    schema = xroad_schema()
    for elem in elements:
        if not schema.validate(elem):
            error = schema.error_log.last_error
            raise InvalidHeader(f"<{etree.QName(elem).localname}>: {error.message}")


def envelope(headers: Headers, body: etree._Element, *, validate: bool = True) -> bytes:
    elements = header_elements(headers)
    if validate:
        validate_header(elements)
    env = etree.Element(q(m.SOAP_NS, "Envelope"), nsmap=NSMAP)
    header = etree.SubElement(env, q(m.SOAP_NS, "Header"))
    header.extend(elements)
    etree.SubElement(env, q(m.SOAP_NS, "Body")).append(body)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def read_headers(header: etree._Element) -> Headers:
    """The X-Road headers of a received message (after :func:`validate_header`)."""

    def values(name: str, fields: tuple[str, ...]) -> tuple[str, ...]:
        elem = header.find(q(m.XROAD_NS, name))
        if elem is None:
            raise InvalidHeader(f"<{name}> is missing")
        return tuple((elem.findtext(q(m.ID_NS, f)) or "") for f in fields)

    def text(name: str) -> str:
        elem = header.find(q(m.XROAD_NS, name))
        if elem is None:
            raise InvalidHeader(f"<{name}> is missing")
        return elem.text or ""

    client = values("client", CLIENT_FIELDS)
    service = values("service", SERVICE_FIELDS)
    issue = header.find(q(m.XROAD_NS, "issue"))
    return Headers(
        client,
        service,
        text("id"),
        text("userId"),
        text("protocolVersion"),
        None if issue is None else issue.text or "",
    )


def object_type(header: etree._Element, name: str) -> str | None:
    """The ``objectType`` of the identifier header element ``name`` (None if absent)."""
    elem = header.find(q(m.XROAD_NS, name))
    return None if elem is None else elem.get(q(m.ID_NS, "objectType"))


def request_hash(message: bytes) -> str:
    return base64.b64encode(hashlib.sha512(message).digest()).decode()


def fault(code: str, message: str) -> bytes:
    env = etree.Element(q(m.SOAP_NS, "Envelope"), nsmap={"soapenv": m.SOAP_NS})
    body = etree.SubElement(env, q(m.SOAP_NS, "Body"))
    f = etree.SubElement(body, q(m.SOAP_NS, "Fault"))
    etree.SubElement(f, "faultcode").text = code
    etree.SubElement(f, "faultstring").text = message
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def read_fault(root: etree._Element) -> tuple[str, str] | None:
    """(fault code without prefix, fault string) of a SOAP fault, or None."""
    f = root.find(f"{q(m.SOAP_NS, 'Body')}/{q(m.SOAP_NS, 'Fault')}")
    return None if f is None else fault_of(f)


def fault_of(f: etree._Element) -> tuple[str, str]:
    """(fault code without prefix, fault string) of a ``<Fault>`` element."""
    code = (f.findtext("faultcode") or "").split(":")[-1]
    return code, f.findtext("faultstring") or ""


def fault_error(code: str, message: str, where: str) -> DeliveryError:
    """A SOAP fault as the hub's error: ``Server.*`` transient (the provider's or the
    network's side), ``Client.*`` and anything else permanent."""
    text = f"{where}: SOAP fault {code}: {redact(message)}"
    return TransientError(text) if code.startswith("Server") else PermanentError(text)
