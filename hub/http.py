"""The one way adapters call HTTP services: httpx with safe defaults.

- ``trust_env=False``: proxy and certificate environment variables do not silently change
  routing or trust;
- redirects are not followed (a redirect is a permanent error naming the call: the
  configured address is wrong, or someone is in the way);
- an overall deadline per call that covers everything — connecting, TLS, sending, the
  response headers and every chunk of the body: every socket operation's timeout is cut to
  what is left of it (:class:`_DeadlineBackend`), so a server that drips its headers or its
  body one byte at a time cannot hold a call past its deadline;
- a byte cap on every response, counted on the decoded body and enforced while it is
  decoded: gzip and deflate are undone here, 64 KiB at a time, so a small compressed body
  cannot expand to gigabytes in memory; other content codings are refused;
- TLS 1.2 or newer; mutual TLS through an ``ssl.SSLContext`` (``cert=`` is deprecated);
- failures classified: connection errors, time-outs, a body cut short, 408, 425, 429, 500,
  502, 503 and 504 are :class:`TransientError` (with ``Retry-After`` honoured, parsed
  defensively and capped), other statuses :class:`PermanentError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import re
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpcore
import httpx

from hub.adapter import SystemConfig
from hub.errors import DeliveryError, PermanentError, ResponseTooLarge, TransientError
from hub.privacy import redact

#: the cap on a response that is not streamed (a page, an answer): what is parsed in memory
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
#: the longest wait a ``Retry-After`` is taken for (a larger one is capped to this)
MAX_RETRY_AFTER = 24 * 3600.0
#: decoded bytes produced at a time from a compressed body
DECODE_PIECE = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"


def tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """TLS ≥ 1.2; optional CA bundle (``ca_file``) and client certificate (``client_cert``,
    ``client_key``) for mutual TLS as X-Road security servers require."""
    ctx = ssl.create_default_context(cafile=options.get("ca_file"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if options.get("client_cert"):
        ctx.load_cert_chain(options["client_cert"], options.get("client_key"))
    return ctx


_DELTA_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), at most
    :data:`MAX_RETRY_AFTER`; None for anything else (a hostile or broken value never
    raises: the retry then waits its own backoff)."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), MAX_RETRY_AFTER)
    if not value.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


# --- the deadline -------------------------------------------------------------------------


class _Deadline(threading.local):
    """When the current call of this thread must be over (None: no call running)."""

    expires: float | None = None

    def remaining(self) -> float | None:
        return None if self.expires is None else self.expires - time.monotonic()

    def clip(self, timeout: float | None) -> float | None:
        """``timeout`` cut to what is left; raises when nothing is left."""
        left = self.remaining()
        if left is None:
            return timeout
        if left <= 0:
            raise httpcore.ReadTimeout("the call's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the call's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline):
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clip(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for i in range(0, len(buffer), DECODE_PIECE):  # a slow reader: each piece in time
            self._stream.write(buffer[i : i + DECODE_PIECE], self._deadline.clip(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.clip(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every timeout cut to the call's deadline."""

    def __init__(self, deadline: _Deadline):
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(
            host, port, self._deadline.clip(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._backend.connect_unix_socket(
            path, self._deadline.clip(timeout), socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over :class:`_DeadlineBackend`. httpx does not take a network
    backend, so its connection pool (``_pool``, an ``httpcore.ConnectionPool`` in httpx
    0.28) is built again with one; tests/faults prove the deadline holds."""

    def __init__(self, verify: ssl.SSLContext | bool, deadline: _Deadline):
        super().__init__(verify=verify, trust_env=False)
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=5)
        self._pool = httpcore.ConnectionPool(
            ssl_context=verify if isinstance(verify, ssl.SSLContext) else None,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(deadline),
        )


# --- content codings ----------------------------------------------------------------------


class _Decoder:
    """Undoes a response's ``Content-Encoding`` a piece at a time (at most
    :data:`DECODE_PIECE` bytes out per step), so the byte cap is enforced before memory
    is spent."""

    def __init__(self, coding: str, where: str):
        coding = coding.strip().lower()
        self.where = where
        self._raw_deflate = False
        if coding in ("", "identity"):
            self._zlib = None
        elif coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
            self._raw_deflate = True  # a headerless deflate stream is common: tried on failure
        else:
            raise PermanentError(f"{where}: the response uses the content coding {coding!r}")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            piece = self._zlib.decompress(data, DECODE_PIECE)
        except zlib.error:
            if not self._raw_deflate:
                raise PermanentError(f"{self.where}: the compressed body is corrupt") from None
            self._raw_deflate = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self.feed(data)
            return
        self._raw_deflate = False
        yield piece
        while self._zlib.unconsumed_tail:
            try:
                yield self._zlib.decompress(self._zlib.unconsumed_tail, DECODE_PIECE)
            except zlib.error:
                raise PermanentError(f"{self.where}: the compressed body is corrupt") from None

    def end(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise TransientError(f"{self.where}: the compressed body ends before its stream does")


def _default_detail(response: httpx.Response, body: bytes) -> str:
    return body[:300].decode("utf-8", "replace")


class HttpService:
    """An httpx client bound to one system, with deadline, byte cap and error classification.

    ``describe_error(response, body)`` lets an adapter turn a protocol's error body (e.g.
    X-Road's ``{type, message, detail}``) into a readable reason. ``classify_error(response,
    body, where)`` lets it decide transient or permanent itself where the status does not
    tell (a SOAP fault comes with HTTP 500 whether retrying helps or not); returning None
    falls back to the status. ``max_bytes`` caps every response of the service; a call may
    give its own (a streamed export of gigabytes).
    """

    def __init__(
        self,
        config: SystemConfig,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        describe_error: Callable[[httpx.Response, bytes], str] = _default_detail,
        classify_error: Callable[[httpx.Response, bytes, str], DeliveryError | None] | None = None,
    ):
        self.config = config
        self.max_bytes = max_bytes
        self.describe_error = describe_error
        self.classify_error = classify_error
        self._deadline = _Deadline()
        # plain HTTP (a sandbox, a security server on the same host) has no TLS to verify
        # and redirects are never followed: no CA bundle is loaded for it (15 ms a client)
        verify: ssl.SSLContext | bool = False
        if config.base_url.startswith("https"):
            verify = tls_context(config.options)
        self.client = httpx.Client(
            base_url=config.base_url,
            headers={"Accept-Encoding": ACCEPT_ENCODING, **dict(headers or {})},
            timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            follow_redirects=False,
            trust_env=False,
            transport=_DeadlineTransport(verify, self._deadline),
        )

    def close(self) -> None:
        self.client.close()

    @contextlib.contextmanager
    def stream(
        self, method: str, url: str, *, max_bytes: int | None = None, **kwargs: Any
    ) -> Iterator[tuple[httpx.Response, Iterator[bytes]]]:
        """Send a request and yield the response with an iterator over the body's decoded
        chunks, for streaming parsers. The deadline (from the moment of the call) and the
        byte cap (``max_bytes``, else the service's) apply until the body is read."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        where = f"{method} {self.config.system}{url.split('?')[0]}"
        outer = self._deadline.expires
        self._deadline.expires = time.monotonic() + self.config.deadline
        try:
            with self.client.stream(method, url, **kwargs) as response:
                if response.status_code >= 300:
                    body = self._read(response, where, limit=64 * 1024)
                    raise self._error(response, body, where)
                yield response, self._chunks(response, where, cap)
        except httpx.TimeoutException as exc:
            left = self._deadline.remaining()
            if left is not None and left <= 0:
                raise TransientError(
                    f"{where}: exceeded the {self.config.deadline:g} s deadline"
                ) from None
            raise TransientError(f"{where}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{where}: {type(exc).__name__}: {redact(exc)}") from None
        finally:
            self._deadline.expires = outer

    def request(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """Send a request; return the response and its whole body (capped: ``max_bytes=``
        or the service's)."""
        with self.stream(method, url, **kwargs) as (response, chunks):
            body = b"".join(chunks)
        return response, body

    def _chunks(self, response: httpx.Response, where: str, cap: int) -> Iterator[bytes]:
        total = 0
        decoder = _Decoder(response.headers.get("Content-Encoding", ""), where)
        for raw in response.iter_raw():
            for chunk in decoder.feed(raw):
                total += len(chunk)
                if total > cap:
                    raise ResponseTooLarge(f"{where}: response larger than {cap} bytes")
                if chunk:
                    yield chunk
        decoder.end()

    def _read(self, response: httpx.Response, where: str, limit: int) -> bytes:
        out = bytearray()
        with contextlib.suppress(DeliveryError):  # an error body is only a detail
            for chunk in self._chunks(response, where, limit):
                out += chunk
                if len(out) >= limit:
                    break
        return bytes(out[:limit])

    def _error(self, response: httpx.Response, body: bytes, where: str) -> DeliveryError:
        status = response.status_code
        if 300 <= status < 400:
            return PermanentError(
                f"{where}: HTTP {status}: a redirect, which the hub does not follow (is the "
                f"system's base_url right?)",
                status=status,
            )
        if self.classify_error is not None and status not in (429, 503):
            classified = self.classify_error(response, body, where)
            if classified is not None:
                return classified
        reason = redact(self.describe_error(response, body))
        message = f"{where}: HTTP {status} {response.reason_phrase}: {reason}".rstrip(": ")
        if status in TRANSIENT_STATUS:
            return TransientError(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                status=status,
            )
        return PermanentError(message, status=status)
