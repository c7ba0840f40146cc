"""Strict JSON for what sources send: nothing taken that JSON does not mean, or that the hub
could not keep.

Python's ``json`` accepts more than RFC 8259 promises interoperable: a key given twice
(the last silently wins), ``NaN`` and ``Infinity``, numbers that overflow to infinity,
strings holding lone surrogates (``"\\ud800"``, text that UTF-8, the store and the logs
cannot hold), nesting deep enough to exhaust the interpreter. Here such things are not
errors of the whole document but *flaws* marked where they are, so that a reader can decide
at which level each one counts: a flaw inside one record fails that record (a dead letter,
the rest of the page flows), a flaw in a page's own envelope fails the page.

- :func:`parse` reads a document. What makes the document itself unreadable raises
  :class:`JsonDocumentError` (:class:`IncompleteJsonError` when the text ends before the
  document does: a cut body, which reading again may heal).
- :func:`flaw` finds the first flaw inside a parsed value, as a
  :class:`~hub.adapter.ContractViolation` naming the field path; :func:`envelope_flaw`
  the first flaw of a page outside its records.

A flawed value keeps what the source sent: a duplicated key holds the list of its values,
a non-finite or overlong number its text (:class:`Flaw`), so the dead letter shows it all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from hub.adapter import ContractViolation
from hub.errors import ResponseTooLarge, TransientError

#: deeper nesting than any record of these systems needs (a page, a record, its sections)
MAX_DEPTH = 32
#: longer numbers are not quantities (Python refuses to convert past 4 300 digits anyway)
MAX_NUMBER_DIGITS = 40
_SURROGATE = re.compile("[\ud800-\udfff]")
#: the token a text ends with, if more text could complete it: a literal cut short
#: (``tru``, ``Infin``) or a number (``1.``, ``-``, ``2e+``; a whole one too, see _cut_short)
_CUT_TOKEN = re.compile(
    r"(?<![\w.+-])(?:t(?:ru?)?|f(?:a(?:ls?)?)?|n(?:ul?)?|Na?|-?I(?:n(?:f(?:i(?:n(?:it?)?)?)?)?)?"
    r"|-|-?\d+(?:\.\d*)?(?:[eE][-+]?\d*)?)\Z"
)
#: the rest of a text cut inside a ``\uXXXX`` escape (from its ``u``)
_CUT_ESCAPE = re.compile(r"u[0-9a-fA-F]{0,4}\Z")


class JsonDocumentError(ValueError):
    """The document as a whole cannot be read as strict JSON."""


class IncompleteJsonError(JsonDocumentError):
    """The text ends before the JSON document does (empty, or cut short)."""


class Flaw(str):
    """A value JSON gave that the hub does not take as such, kept as its source text: a
    non-finite number (``NaN``, ``Infinity``, ``1e999``) or a number too long to be one."""

    __slots__ = ("why",)

    def __new__(cls, text: str, why: str) -> Flaw:
        obj = super().__new__(cls, text)
        obj.why = why
        return obj

    def __reduce__(self) -> tuple[type[Flaw], tuple[str, str]]:
        # records cross a pipe pickled (the engine's reading worker): both parts must go
        return Flaw, (str(self), self.why)


class Duplicated(list):
    """The values of a key an object gave more than once, in order (JSON objects are sets of
    names; which one a parser keeps is undefined, so none is chosen)."""

    __slots__ = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            kept = out[key]
            if isinstance(kept, Duplicated):
                kept.append(value)
            else:
                out[key] = Duplicated([kept, value])
        else:
            out[key] = value
    return out


def _constant(text: str) -> Flaw:
    return Flaw(text, f"{text} is not a JSON number")


def _float(text: str) -> float | Flaw:
    if len(text) > MAX_NUMBER_DIGITS:
        return Flaw(text, f"a number of {len(text)} characters")
    value = float(text)
    return value if math.isfinite(value) else Flaw(text, "a number too large to hold")


def _int(text: str) -> int | Flaw:
    if len(text) > MAX_NUMBER_DIGITS:
        return Flaw(text, f"a number of {len(text)} digits")
    return int(text)


def _text(body: bytes | str, what: str) -> str:
    """``body`` as text: JSON between systems is UTF-8 (RFC 8259 § 8.1; a byte order mark is
    ignored, as the RFC allows). ``json`` would also guess UTF-16 or UTF-32 and let encoded
    surrogates through; here they are not text. A body cut inside a character is cut short."""
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.end == len(body) and exc.reason == "unexpected end of data":
            raise IncompleteJsonError(
                f"{what}: the JSON ends before it is complete (inside a character)"
            ) from None
        raise JsonDocumentError(f"{what}: not UTF-8 text (byte {exc.start})") from None


def _cut_short(exc: json.JSONDecodeError) -> bool:
    """Whether the text ends before the document does (more text could complete it), not
    a document that is wrong where it stands: the error is at the end, inside a string that
    never closes, or inside a literal or number that the end cuts (``tru``, ``1.``)."""
    text = exc.doc
    if exc.msg.startswith("Extra data"):  # a whole document, then more: never a cut
        return False
    if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return True
    if exc.msg.startswith("Invalid \\uXXXX escape"):  # cut inside "\u00e4"?
        return _CUT_ESCAPE.match(text, exc.pos) is not None
    token = _CUT_TOKEN.search(text)
    if token is None or exc.pos < token.start():
        return False
    if exc.pos > token.start():  # inside a number: "1." waits for its digits
        return True
    # at the token: a value was expected and the text ends in a part of one ("[1 2" is not)
    return exc.msg.startswith("Expecting value") and not token.group()[-1].isdigit()


def parse(body: bytes | str, *, what: str = "the document") -> Any:
    """The document ``body`` parsed, flaws marked (see the module). ``what`` names the
    document in errors, e.g. ``"te_office GET /clients"``."""
    if not (body.strip() if isinstance(body, str) else body.strip()):
        raise IncompleteJsonError(f"{what}: the body is empty, not JSON")
    text = _text(body, what)
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except json.JSONDecodeError as exc:
        if _cut_short(exc):
            raise IncompleteJsonError(
                f"{what}: the JSON ends before it is complete (at character {exc.pos})"
            ) from None
        raise JsonDocumentError(
            f"{what}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise JsonDocumentError(f"{what}: nested too deeply to read") from None


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """(field path, what is wrong) of every flaw in ``value``, outermost first; iterative,
    so that depth alone never exhausts the interpreter."""
    stack = [(value, path, depth)]
    while stack:
        item, where, level = stack.pop()
        kind = type(item)
        if level >= MAX_DEPTH and (kind is dict or kind is list):  # the (MAX_DEPTH+1)th level
            yield where, f"nested more than {MAX_DEPTH} levels deep"
            continue
        if kind is str:
            if _SURROGATE.search(item):
                yield where, "holds a lone surrogate (\\ud800–\\udfff), not text"
        elif kind is Flaw:
            yield where, item.why
        elif kind is Duplicated:
            yield where, f"given {len(item)} times"
        elif kind is dict:
            for key, child in reversed(item.items()):
                name = f"{where}.{key}" if where else key
                if _SURROGATE.search(key):
                    yield (where or "(record)"), "a field name holds a lone surrogate"
                    continue
                stack.append((child, name, level + 1))
        elif kind is list:
            for i in range(len(item) - 1, -1, -1):
                stack.append((item[i], f"{where}[{i}]", level + 1))


#: what :func:`pruned` keeps in place of a part nested past MAX_DEPTH
TOO_DEEP = "(nested too deeply: not kept)"


def pruned(value: Any, depth: int = 0) -> Any:
    """``value`` (at ``depth`` in its document) with every part nested past MAX_DEPTH
    replaced by :data:`TOO_DEEP`: what a dead letter keeps of a record that is flawed by its
    depth (it is kept as JSON and crosses a pipe pickled; hundreds of levels would exhaust
    the interpreter there)."""
    kind = type(value)
    if kind is Duplicated:
        return Duplicated(pruned(v, depth) for v in value)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        if kind is dict:
            return {k: pruned(v, depth + 1) for k, v in value.items()}
        return [pruned(v, depth + 1) for v in value]
    return value


def flaw(value: Any, *, depth: int = 0) -> ContractViolation | None:
    """The first flaw inside ``value`` (a record), naming its field path; None if none."""
    for where, message in _walk(value, "", depth):
        return ContractViolation((where[:200] or None), message)
    return None


def envelope_flaw(page: Any, items_key: str) -> str | None:
    """The first flaw of a page outside its records (``page[items_key]``), described."""
    if not isinstance(page, dict):
        return None
    for key, value in page.items():
        if _SURROGATE.search(key):
            return "a field name of the page holds a lone surrogate"
        if type(value) is Duplicated:
            return f"{key}: given {len(value)} times"
        if key == items_key:
            continue
        for where, message in _walk(value, key, 1):
            return f"{where}: {message}"
    return None


def results_of(send: Callable[[], bytes], *, what: str, key: str) -> list[Any]:
    """The per-item results of a batch write whose answer is ``{key: [...]}``: ``send()``
    makes the call and gives the answer's body. An answer without usable results (not strict
    JSON, cut short, over its byte cap, no list) is a :class:`~hub.errors.TransientError`:
    the items may have been stored, and sending them again with the same idempotency keys is
    safe. ``what`` names the call in the message."""
    try:
        answer = parse(send(), what=what)
    except (JsonDocumentError, ResponseTooLarge) as exc:
        problem = str(exc)
    else:
        flawed = envelope_flaw(answer, key)
        results = answer.get(key) if type(answer) is dict else None
        if flawed is None and type(results) is list:
            return results
        why = f"the answer is not strict JSON: {flawed}" if flawed else "no per-item results"
        problem = f"{what}: {why}"
    raise TransientError(f"{problem}; sending again with the same keys is safe")


__all__ = [
    "MAX_DEPTH",
    "Duplicated",
    "Flaw",
    "IncompleteJsonError",
    "JsonDocumentError",
    "envelope_flaw",
    "flaw",
    "parse",
    "pruned",
    "results_of",
]
