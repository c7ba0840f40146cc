"""The one way adapters call HTTP services: httpx with safe defaults.

- ``trust_env=False``: proxy and certificate environment variables do not silently change
  routing or trust;
- redirects are not followed;
- explicit connect/read timeouts plus an overall deadline per call (httpx's read timeout is
  per chunk, so a slow drip would otherwise never time out);
- a byte cap on every response;
- TLS 1.2 or newer; mutual TLS through an ``ssl.SSLContext`` (``cert=`` is deprecated);
- failures classified: connection errors, time-outs, 429, 502, 503 and 504 are
  :class:`TransientError` (with ``Retry-After`` honoured), other 4xx :class:`PermanentError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from hub.adapter import SystemConfig
from hub.errors import DeliveryError, PermanentError, TransientError
from hub.privacy import redact

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """TLS ≥ 1.2; optional CA bundle (``ca_file``) and client certificate (``client_cert``,
    ``client_key``) for mutual TLS as X-Road security servers require."""
    ctx = ssl.create_default_context(cafile=options.get("ca_file"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if options.get("client_cert"):
        ctx.load_cert_chain(options["client_cert"], options.get("client_key"))
    return ctx


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _default_detail(response: httpx.Response, body: bytes) -> str:
    return body[:300].decode("utf-8", "replace")


class HttpService:
    """An httpx client bound to one system, with deadline, byte cap and error classification.

    ``describe_error(response, body)`` lets an adapter turn a protocol's error body (e.g.
    X-Road's ``{type, message, detail}``) into a readable reason. ``classify_error(response,
    body, where)`` lets it decide transient or permanent itself where the status does not
    tell (a SOAP fault comes with HTTP 500 whether retrying helps or not); returning None
    falls back to the status.
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
        # plain HTTP (a sandbox, a security server on the same host) has no TLS to verify
        # and redirects are never followed: no CA bundle is loaded for it (15 ms a client)
        verify: ssl.SSLContext | bool = False
        if config.base_url.startswith("https"):
            verify = tls_context(config.options)
        self.client = httpx.Client(
            base_url=config.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            follow_redirects=False,
            trust_env=False,
            verify=verify,
        )

    def close(self) -> None:
        self.client.close()

    @contextlib.contextmanager
    def stream(
        self, method: str, url: str, *, max_bytes: int | None = None, **kwargs: Any
    ) -> Iterator[tuple[httpx.Response, Iterator[bytes]]]:
        """Send a request and yield the response with an iterator over the body's chunks,
        for streaming parsers. The deadline and the byte cap (``max_bytes``, else the
        service's) apply while the body is read."""
        started = time.monotonic()
        cap = self.max_bytes if max_bytes is None else max_bytes
        where = f"{method} {self.config.system}{url.split('?')[0]}"
        try:
            with self.client.stream(method, url, **kwargs) as response:
                if response.status_code >= 300:
                    body = self._read(response, started, where, limit=64 * 1024)
                    raise self._error(response, body, where)
                yield response, self._chunks(response, started, where, cap)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{where}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{where}: {type(exc).__name__}: {redact(exc)}") from None

    def request(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """Send a request; return the response and its whole body (capped)."""
        with self.stream(method, url, **kwargs) as (response, chunks):
            body = b"".join(chunks)
        return response, body

    def _chunks(
        self, response: httpx.Response, started: float, where: str, cap: int | None = None
    ) -> Iterator[bytes]:
        total, cap = 0, self.max_bytes if cap is None else cap
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > cap:
                raise PermanentError(f"{where}: response larger than {cap} bytes")
            if time.monotonic() - started > self.config.deadline:
                raise TransientError(f"{where}: exceeded the {self.config.deadline:g} s deadline")
            yield chunk

    def _read(self, response: httpx.Response, started: float, where: str, limit: int) -> bytes:
        out = bytearray()
        for chunk in self._chunks(response, started, where):
            out += chunk
            if len(out) >= limit:
                break
        return bytes(out[:limit])

    def _error(self, response: httpx.Response, body: bytes, where: str) -> DeliveryError:
        status = response.status_code
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
