"""A hardened HTTP transport for the store API, on requests and urllib3.

Every call has a connect timeout, a read timeout (between bytes) and a total deadline for the
whole answer, status line and headers included, so a server that drips one byte every few
seconds cannot hold the cart (a watchdog shuts the socket when the deadline passes). Bodies
are size-limited before and while reading; compressed bodies are refused (the contract never
compresses, and a gzip bomb would otherwise pass the size check). Redirects are never
followed: a 3xx is an error, whichever host it names, so the API key can never be sent
somewhere else. TLS is verified (the system trust store, or the configured CA bundle); there
is no switch to turn it off. Plain ``http://`` is accepted only for loopback unless
explicitly allowed.

Idempotent calls are retried by urllib3's ``Retry`` with exponential backoff and jitter,
``Retry-After`` capped at the longest backoff. Only calls the caller declares idempotent (GET,
and POST/PUT bodies carrying an idempotency key) are retried; any other call is sent once.

Proxies and ``.netrc`` from the environment are ignored (``trust_env=False``): a ``.netrc``
entry would silently replace the API key.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

DEFAULT_MAX_BODY_BYTES: Final = 1 * 1024 * 1024
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
_READ_CHUNK: Final = 64 * 1024


class StoreError(Exception):
    """A store call that did not succeed. ``retryable``: trying later may work."""

    retryable: bool = False


class StoreUnreachable(StoreError):
    """No answer: connection refused or reset, DNS failure, timeout. The cart is offline."""

    retryable = True


class StoreTLSError(StoreError):
    """The TLS handshake failed (untrusted or wrong certificate, client certificate refused)."""


class StoreAuthError(StoreError):
    """The store refused this cart's credentials (401) or the action (403)."""


class StoreProtocolError(StoreError):
    """The store's answer breaks the contract: wrong types, too big, too slow, a redirect,
    an unexpected status or content type. Nothing from it was used."""

    retryable = True


class StoreHTTPError(StoreError):
    """The store answered with an error status; ``problem_type`` is the contract's slug."""

    def __init__(self, status: int, problem_type: str, detail: str) -> None:
        super().__init__(f"store answered {status} {problem_type}: {detail}")
        self.status = status
        self.problem_type = problem_type
        self.detail = detail
        # 5xx and 429 are the server's trouble; 408 a slow network; anything else will fail
        # the same way again.
        self.retryable = status >= 500 or status in (408, 429)


class StoreConfigError(StoreError):
    """The client's settings are unusable (a bad URL, plain HTTP to a remote host)."""


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """How the transport reaches the store. Times in seconds."""

    base_url: str
    api_key: str = ""
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 30.0
    retry_total: int = 3
    retry_backoff_initial_s: float = 0.5
    retry_backoff_max_s: float = 30.0
    ca_bundle: str = ""
    """PEM file of CAs to trust instead of the system store; TLS is verified either way."""
    client_cert: tuple[str, str] | None = None
    """(certificate PEM, private key PEM) when the store authenticates carts by certificate."""
    allow_plain_http: bool = False
    """Accept ``http://`` to a non-loopback host (never do this in a store)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    user_agent: str = "smartcart-cart/1"


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A fully read response (header names are case-insensitive)."""

    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_plain_http: bool) -> str:
    """``base_url`` without a trailing slash; StoreConfigError when it is unusable."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreConfigError(f"store base_url {base_url!r} must be an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StoreConfigError(
            f"store base_url {base_url!r} must not hold credentials, a query or a fragment"
        )
    if parts.scheme == "http" and not allow_plain_http and not _is_loopback(parts.hostname):
        raise StoreConfigError(
            f"store base_url {base_url!r}: plain http is only allowed to loopback; use https "
            f"(the API key would travel in clear text)"
        )
    return base_url.rstrip("/")


class _CappedRetry(Retry):
    """urllib3 Retry whose ``Retry-After`` wait never exceeds the longest backoff."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """``Retry-After`` in seconds, at most the longest backoff."""
        after = super().get_retry_after(response)
        if after is None:
            return None
        return min(max(after, 0.0), self.backoff_max)


class _Deadline:
    """The deadline of one call, shared by its attempts; ``expired`` once the watchdog fired."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False


_CALL = threading.local()
"""The calling thread's :class:`_Deadline` while :meth:`HttpTransport.request` runs."""


class _Watchdog:
    """Shuts a connection's socket when the calling thread's deadline passes.

    The read timeout bounds each ``recv``; it cannot bound a status line and headers that
    arrive one byte just under it at a time. Armed when a request is sent, disarmed once the
    headers are in (the body is read under :meth:`HttpTransport._read`'s own deadline check).
    A retry that starts after the deadline fails at once.
    """

    def __init__(self, conn: HTTPConnection) -> None:
        self._conn = conn
        self._timer: threading.Timer | None = None
        self._deadline: _Deadline | None = None

    def arm(self) -> None:
        deadline: _Deadline | None = getattr(_CALL, "deadline", None)
        self._deadline = deadline
        if deadline is None:
            return
        remaining = deadline.at - time.monotonic()
        if remaining <= 0:
            deadline.expired = True
            raise OSError("the call's deadline passed before this attempt")
        self._timer = threading.Timer(remaining, self.fire)
        self._timer.daemon = True
        self._timer.start()

    def fire(self) -> None:
        if self._deadline is None:
            return
        self._deadline.expired = True
        sock = self._conn.sock
        if sock is not None:
            # The plain socket's shutdown, under any TLS wrapper: the blocked reader gets an
            # end of stream, and the TLS object is left to the thread that owns it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def check(self) -> None:
        """After the request went out: if the deadline passed meanwhile, end it now."""
        if self._deadline is not None and self._deadline.expired:
            self.fire()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = None


class _DeadlineHTTPConnection(HTTPConnection):
    """An urllib3 connection whose exchange ends at the caller's deadline."""

    _watchdog: _Watchdog | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watchdog = self._watchdog or _Watchdog(self)
        self._watchdog.arm()
        try:
            super().request(*args, **kwargs)
        except BaseException:
            self._watchdog.disarm()
            raise
        self._watchdog.check()

    def getresponse(self) -> Any:
        try:
            return super().getresponse()
        finally:
            if self._watchdog is not None:
                self._watchdog.disarm()


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, HTTPSConnection):
    """The TLS twin of :class:`_DeadlineHTTPConnection` (its methods reach TLS through the MRO)."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter over the deadline-aware connection pools."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPPool,
            "https": _DeadlineHTTPSPool,
        }


class HttpTransport:
    """Sends requests to one store. Thread-safe: each thread gets its own session."""

    def __init__(self, settings: TransportSettings) -> None:
        """Check the settings; no connection is opened until the first call."""
        self.settings = settings
        self.base_url = check_base_url(
            settings.base_url, allow_plain_http=settings.allow_plain_http
        )
        self._origin = urlsplit(self.base_url)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._closed = False

    # --- sessions -------------------------------------------------------------------------

    def _retry(self, idempotent: bool) -> Retry:
        s = self.settings
        if not idempotent:
            return Retry(total=0, redirect=0, raise_on_redirect=False, raise_on_status=False)
        return _CappedRetry(
            total=s.retry_total,
            connect=s.retry_total,
            read=s.retry_total,
            status=s.retry_total,
            other=0,
            redirect=0,
            raise_on_redirect=False,
            # Every method: the caller only routes idempotent calls here (POSTs with a key).
            allowed_methods=None,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=s.retry_backoff_initial_s,
            backoff_max=s.retry_backoff_max_s,
            backoff_jitter=s.retry_backoff_initial_s,
            respect_retry_after_header=True,
            raise_on_status=False,
        )

    def _session(self, idempotent: bool) -> requests.Session:
        attr = "retrying" if idempotent else "single"
        session: requests.Session | None = getattr(self._local, attr, None)
        if session is not None:
            return session
        session = requests.Session()
        session.trust_env = False
        session.verify = self.settings.ca_bundle or True
        if self.settings.client_cert is not None:
            session.cert = self.settings.client_cert
        adapter = _DeadlineAdapter(
            max_retries=self._retry(idempotent), pool_connections=1, pool_maxsize=2
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {
                "User-Agent": self.settings.user_agent,
                "Accept": "application/json",
                "Accept-Encoding": "identity",
            }
        )
        if self.settings.api_key:
            session.headers["Authorization"] = f"Bearer {self.settings.api_key}"
        with self._lock:
            if self._closed:
                session.close()
                raise StoreUnreachable("the store client is closed")
            self._sessions.append(session)
        setattr(self._local, attr, session)
        return session

    def close(self) -> None:
        """Close every session; later calls fail with :class:`StoreUnreachable`."""
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # --- requests -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        read_timeout_s: float | None = None,
        max_body_bytes: int | None = None,
    ) -> RawResponse:
        """Send one request (retried when ``idempotent``) and read the whole answer.

        Returns every status except redirects (3xx other than 304); raises
        :class:`StoreUnreachable`, :class:`StoreTLSError` or :class:`StoreProtocolError`
        (redirect, too big, too slow, compressed).
        """
        s = self.settings
        limit = max_body_bytes or s.max_body_bytes
        read_timeout = read_timeout_s if read_timeout_s is not None else s.read_timeout_s
        # The deadline covers the whole answer; a long poll extends it by its own wait.
        deadline_s = max(s.total_timeout_s, read_timeout + s.connect_timeout_s)
        deadline = _Deadline(time.monotonic() + deadline_s)
        send_headers = dict(headers or {})
        if body is not None:
            send_headers.setdefault("Content-Type", "application/json")
        url = self.base_url + path
        session = self._session(idempotent)
        _CALL.deadline = deadline
        try:
            response = session.request(
                method,
                url,
                data=body,
                headers=send_headers,
                params=dict(params) if params else None,
                timeout=(s.connect_timeout_s, read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            if deadline.expired:
                raise StoreProtocolError(
                    f"{method} {path}: no complete answer within {deadline_s:g} s "
                    "(the store is too slow)"
                ) from exc
            raise self._failure(method, path, exc) from exc
        finally:
            _CALL.deadline = None
        with response:
            return self._read(method, path, response, limit, deadline.at)

    def _failure(self, method: str, path: str, exc: BaseException) -> StoreError:
        """The store error for a requests exception."""
        if isinstance(exc, requests.exceptions.SSLError):
            return StoreTLSError(f"TLS with {self._origin.netloc} failed: {_reason(exc)}")
        if isinstance(exc, requests.exceptions.RetryError):
            return StoreUnreachable(f"{method} {path}: gave up retrying: {_reason(exc)}")
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return StoreUnreachable(f"{method} {path}: {_reason(exc)}")
        return StoreProtocolError(f"{method} {path}: {_reason(exc)}")

    def _read(
        self,
        method: str,
        path: str,
        response: requests.Response,
        limit: int,
        deadline: float,
    ) -> RawResponse:
        where = f"{method} {path}"
        # 304 Not Modified is an answer (the catalog's ETag matched), not a redirect.
        if 300 <= response.status_code < 400 and response.status_code != 304:
            location = response.headers.get("Location", "")
            target = urlsplit(location)
            other = target.netloc and target.netloc != self._origin.netloc
            to = f"another host ({target.netloc})" if other else repr(location)
            raise StoreProtocolError(
                f"{where}: store redirected ({response.status_code}) to {to}; redirects are refused"
            )
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise StoreProtocolError(f"{where}: compressed body ({encoding}) refused")
        declared = response.headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise StoreProtocolError(f"{where}: bad Content-Length {declared[:40]!r}")
            if int(declared) > limit:
                raise StoreProtocolError(
                    f"{where}: body of {int(declared)} bytes exceeds the {limit}-byte limit"
                )
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        try:
            while True:
                if time.monotonic() > deadline:
                    raise StoreProtocolError(f"{where}: body not complete before the deadline")
                # read1 returns what has arrived (at least one byte), so a slow drip is seen
                # by the deadline check instead of blocking until a full chunk came in.
                chunk = raw.read1(_READ_CHUNK, decode_content=False)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise StoreProtocolError(f"{where}: body exceeds the {limit}-byte limit")
                chunks.append(chunk)
        except StoreError:
            raise
        except Exception as exc:  # urllib3 read errors, socket timeouts, protocol errors
            text = _reason(exc)
            if "timed out" in text.lower():
                raise StoreUnreachable(f"{where}: read timed out") from exc
            raise StoreProtocolError(f"{where}: reading the body failed: {text}") from exc
        headers = CaseInsensitiveDict(response.headers)
        return RawResponse(response.status_code, headers, b"".join(chunks))


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    text = str(exc)
    inner: BaseException | None = exc
    while inner is not None:
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
            text = str(inner)
            continue
        inner = inner.__cause__ if inner.__cause__ is not inner else None
    return text[:300]
