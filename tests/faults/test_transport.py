"""HTTP misbehaviour, on the data call of every adapter: nothing hangs past its deadline,
nothing grows past its byte cap, nothing ends in a traceback or a success that lost records,
and once the server behaves again the next run takes everything.

Each case runs against five calls: a page of the employment authority's clients (JSON), a
municipal nightly export (streamed XML), Kela's monthly billing list (streamed SOAP), a page
of Kela's benefit-day counts (SOAP) and a page of Innokylä's catalogue (JSON).
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from support.states import whole_read_state

from hub.store.runs import SUCCESS

from . import hostile as h

#: (system, what the call is, which requests it is)
TARGETS = {
    "te_office": ("te_office", lambda r: r.method == "GET" and "/clients" in r.path),
    "municipal": ("municipal", lambda r: r.path.startswith("/exports/")),
    "kela-billing": ("kela", lambda r: b"laskutuslistaRequest" in r.body),
    "kela-page": ("kela", lambda r: b"etuuspaivatRequest" in r.body),
    "innokyla": ("innokyla", lambda r: "/practice-models" in r.path),
}
#: two attempts of the fault suite's 1.2-second deadline, and time to spare on a busy machine
BOUND_SECONDS = 30


@dataclass(frozen=True)
class Case:
    behaviour: Callable[[], h.Behaviour]
    #: words the run's error must hold (any of them); None: the run heals and succeeds
    error: tuple[str, ...] | None
    times: int | None = None  # None: until cleared


def redirect(code: int) -> Case:
    return Case(
        lambda: h.status(code, [("Location", "http://127.0.0.1:9/elsewhere")]), ("redirect",)
    )


def retry_after(value: str) -> Case:
    return Case(lambda: h.status(429, [("Retry-After", value)], b"slow down"), ("HTTP 429",))


CASES: dict[str, Case] = {
    # a body cut short while the connection looked fine
    "cut-at-90%": Case(lambda: h.cut_after(0.9), ("RemoteProtocolError", "incomplete")),
    "cut-at-50%": Case(lambda: h.cut_after(0.5), ("RemoteProtocolError", "incomplete")),
    "cut-before-body": Case(lambda: h.cut_after(0.0), ("RemoteProtocolError", "incomplete")),
    "chunked-cut": Case(lambda: h.chunked_cut(0.5), ("RemoteProtocolError", "incomplete")),
    "closed-before-answer": Case(lambda: h.raw(b""), ("RemoteProtocolError", "disconnected")),
    "closed-mid-headers": Case(
        lambda: h.raw(b"HTTP/1.1 200 OK\r\nContent-Le"), ("RemoteProtocolError",)
    ),
    # not HTTP, or HTTP that contradicts itself
    "garbage-status-line": Case(lambda: h.raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), ("Error",)),
    "no-headers-at-all": Case(lambda: h.raw(b"just some bytes\n"), ("Error",)),
    "length-not-a-number": Case(
        lambda: h.raw(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}"), ("Error",)
    ),
    "two-lengths": Case(
        lambda: h.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}"),
        ("Error",),
    ),
    "headers-of-1-mib": Case(
        lambda: h.raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * (1 << 20) + b"\r\n\r\n"),
        ("Error",),
    ),
    "empty-200": Case(lambda: h.status(200), ("empty", "ends before", "not JSON", "complete")),
    "no-content-204": Case(lambda: h.status(204), ("empty", "ends before", "not JSON", "complete")),
    # slow and endless
    "dripped-headers": Case(lambda: h.drip_headers(0.15), ("deadline",)),
    "dripped-body": Case(lambda: h.drip_body(0.15), ("deadline",)),
    "never-answers": Case(lambda: h.hang(), ("timed out", "deadline")),
    "endless-chunked-body": Case(lambda: h.endless(), ("larger than", "deadline")),
    "endless-unframed-body": Case(lambda: h.endless(chunked=False), ("larger than", "deadline")),
    # compression
    "gzip-bomb-256-mib": Case(lambda: h.bomb(256 << 20), ("larger than", "deadline", "complete")),
    "deflate-bomb-256-mib": Case(
        lambda: h.bomb(256 << 20, "deflate"), ("larger than", "deadline", "complete")
    ),
    "gzip-corrupt": Case(
        lambda: h.encoded("gzip", lambda d: d[:12] + bytes(24) + d[36:]), ("corrupt",)
    ),
    "gzip-cut": Case(lambda: h.encoded("gzip", lambda d: d[: len(d) // 2]), ("ends before",)),
    "brotli-unasked": Case(lambda: h.encoded("br"), ("content coding",)),
    "gzip-twice-declared": Case(lambda: h.encoded("gzip, gzip"), ("content coding",)),
    "gzip-proper": Case(lambda: h.encoded("gzip"), None),
    "deflate-proper": Case(lambda: h.encoded("deflate"), None),
    # statuses
    **{f"redirect-{code}": redirect(code) for code in (301, 302, 303, 307, 308)},
    "not-found-404": Case(lambda: h.status(404, body=b"no"), ("HTTP 404",)),
    "unauthorised-401": Case(lambda: h.status(401, body=b"who"), ("HTTP 401",)),
    "forbidden-403": Case(lambda: h.status(403, body=b"no"), ("HTTP 403",)),
    "server-error-html-500": Case(
        lambda: h.status(500, [("Content-Type", "text/html")], b"<html><h1>oops</h1>"),
        ("500", "fault", "Error"),
    ),
    "bad-gateway-502": Case(lambda: h.status(502, body=b"gw"), ("HTTP 502",)),
    "gateway-timeout-504": Case(lambda: h.status(504), ("HTTP 504",)),
    "rate-limited-once": Case(lambda: h.status(429, [("Retry-After", "0")]), None, times=1),
    "unavailable-once": Case(lambda: h.status(503, [("Retry-After", "0")]), None, times=1),
    "cut-once": Case(lambda: h.cut_after(0.5), None, times=1),
    # Retry-After as no server should send it
    "retry-after-huge": retry_after("999999999999"),
    "retry-after-negative": retry_after("-1"),
    "retry-after-superscript": retry_after("1\u00b2"),
    "retry-after-arabic-digits": retry_after("\u0661\u0662"),
    "retry-after-past-date": retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
    "retry-after-year-9999": retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
    "retry-after-word": retry_after("soon"),
    "retry-after-empty": retry_after(""),
    "retry-after-fraction": retry_after("1.5"),
    "retry-after-hex": retry_after("0x10"),
    "retry-after-nan": retry_after("NaN"),
    "retry-after-latin1-byte": retry_after("\u00e4"),
    "retry-after-bad-date": retry_after("Mon, 99 Foo 2026 99:99:99 GMT"),
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("case", list(CASES))
def test_misbehaving_server(faults, target, case):
    system, when = TARGETS[target]
    spec = CASES[case]
    source = faults.source(system)
    server = faults.hostile[system]
    server.misbehave(spec.behaviour(), when=when, times=spec.times, upstream=True)
    before = _peak_mib()

    summary, took = faults.run(system)

    assert server.used() > 0, "the misbehaviour was never asked for"
    assert took < BOUND_SECONDS, f"the run took {took:.0f} s"
    assert _peak_mib() - before < 300, "memory grew past the byte cap"
    faults.assert_ledger(system, summary, source=source)
    if spec.error is None:  # read whole: the source's own rule breakers fail, if it has any
        assert summary.state == whole_read_state(system), summary.error
    else:
        assert summary.state == "failed"
        assert any(word in summary.error for word in spec.error), summary.error
        assert "Traceback" not in summary.error

    server.clear()
    healed, _ = faults.run(system)
    # after a completed run nothing is new; after a failed one, what it did not read
    assert healed.state == (SUCCESS if spec.error is None else whole_read_state(system)), (
        healed.error
    )
    faults.assert_ledger(system, healed, source=source)
