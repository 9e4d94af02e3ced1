"""The local cloud's one endpoint: every boto3 client of the lab (and of its Lambda functions) talks to it.

Each request goes, in order, to:
1. the health path (`status` reads it);
2. the guards: checks AWS makes before a service sees the call (a function's network path from its
   VPC and its role's permissions, `vpc/function_access.py`), which may answer instead;
3. the providers: a request whose behaviour needs the data plane (Lambda Invoke, the API Gateway
   stage URL) is answered by the provider of its service;
4. moto, in this process in server mode, for everything else. After a successful mutating call,
   every provider's `after()` brings its data plane in line (RDS instances and proxies, Lambda
   environments, API deployments).
This is the pattern LocalStack uses: a provider per service, with moto as the fallback.
"""
from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.serving import ThreadedWSGIServer

from . import moto
from .faults import Faults
from .state import HEALTH_PATH

log = logging.getLogger(__name__)
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
REQUEST_TIMEOUT_S = 30.0  # seconds the endpoint waits for a client's next bytes (headers, body, keep-alive)
MAX_CONNECTIONS = 128  # connections served at once (a thread each); beyond, 503 and close
MAX_BODY_BYTES = 80 * 1024 * 1024  # the largest request body (a 50 MB zip upload, base64 in JSON)
READY_TIMEOUT = 120.0  # seconds an AWS call waits for the cloud to finish starting (moto patched)

Headers = dict[str, str]
Response = tuple[int, Headers, bytes]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Headers  # lower-case names
    body: bytes
    service: str | None  # from the SigV4 signing scope; None for unsigned requests (the stage URL)
    region: str | None
    access_key: str | None

    @cached_property
    def form(self) -> dict[str, list[str]]:
        """A query-protocol call's parameters (Action=...&...); empty for other bodies."""
        if not self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return {}
        return parse_qs(self.body.decode(errors="replace"))

    @cached_property
    def operation(self) -> str:
        """The API operation: Action (query protocol) or X-Amz-Target's (JSON protocol); "" for REST calls."""
        return (self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
                or (self.form.get("Action") or [""])[0])


class Provider(Protocol):
    component: str  # its name in `status` ("lambda", "apigateway", "rds")

    def route(self, request: Request) -> Response | None:
        """The answer to a data-plane request of this service, or None to let moto answer."""

    def after(self, request: Request) -> None:
        """After moto answered a mutating call successfully: bring the data plane in line."""


class Guard(Protocol):
    def check(self, request: Request) -> Response | None:
        """An answer that replaces the call (a denial, a timeout), or None to let it through."""


class NoDelayRequestHandler(moto.RequestHandler):
    """Nagle's algorithm with delayed ACKs adds ~40 ms to small request/response exchanges. `timeout`
    bounds every wait for the client (its request line, headers and body, and an idle keep-alive
    connection): a half-sent request is dropped, not kept forever."""

    disable_nagle_algorithm = True
    timeout = REQUEST_TIMEOUT_S

    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per AWS call is noise here
        pass


def signing_scope(authorization: str) -> tuple[str | None, str | None, str | None]:
    """(access key, service, region) from a SigV4 Authorization header."""
    try:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        key, _, region, service, _ = scope.split("/")
        return key, service, region
    except (IndexError, ValueError):
        return None, None, None


def error_response(status: int, code: str, message: str) -> Response:
    """An AWS-style JSON error answer."""
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, \
        json.dumps({"__type": code, "message": message}).encode()


class Gateway:
    """The WSGI application of the endpoint."""

    def __init__(self, providers: list[Provider], guards: list[Guard], health: Callable[[], dict[str, Any]],
                 faults: Faults, ready: threading.Event | None = None):
        self.providers = providers
        self.guards = guards
        self.health = health
        self.faults = faults
        self.ready = ready  # set once moto is patched: AWS calls wait for it (health is answered at once)
        self.moto = moto.wsgi_app()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = _read_body(environ)
        except BadRequest as e:
            return _respond(start_response, *e.answer, close=True)
        key, service, region = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        request = Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                          _headers(environ), body, service, region, key)
        answer: tuple[int, Headers | list[tuple[str, str]], bytes] | None
        try:
            answer = self._answer(request)
            if answer is None:
                status, headers, out = self._call_moto(environ)
                if 200 <= status < 300 and _mutating(request):
                    self._after(request)
                answer = status, headers, out
        except Exception as e:  # a fault of the local cloud, not an answer AWS would give: shown in status
            self.faults.report("endpoint", f"{request.method} {request.path}", e)
            answer = error_response(500, "InternalFailure", "the local cloud failed on this request; "
                                    "`python -m lab_helpers.local status` shows why")
        return _respond(start_response, *answer)

    def _answer(self, request: Request) -> Response | None:
        if request.path == HEALTH_PATH:
            return 200, {"Content-Type": "application/json"}, json.dumps(self.health()).encode()
        if self.ready is not None and not self.ready.wait(READY_TIMEOUT):
            return error_response(503, "ServiceUnavailable", "the local cloud is still starting: try again")
        for guard in self.guards:
            if (verdict := guard.check(request)) is not None:
                return verdict
        for provider in self.providers:
            if (answer := provider.route(request)) is not None:
                return answer
        return None

    def _after(self, request: Request) -> None:
        for provider in self.providers:
            try:
                provider.after(request)
            except Exception as e:  # the control-plane call succeeded; say what the data plane could not do
                what = f"following {request.service} {request.method} {request.path}"
                self.faults.report(provider.component, what, e)

    def _call_moto(self, environ: WSGIEnvironment) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self.moto(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return int(captured["status"].split()[0]), captured["headers"], b"".join(chunks)


def _mutating(request: Request) -> bool:
    """Whether a call may change state: by its operation's name for the query (Action=...) and JSON
    (X-Amz-Target) protocols, by its HTTP method for REST ones."""
    if request.operation:
        return not request.operation.startswith(READ_ONLY_PREFIXES)
    return request.method not in ("GET", "HEAD")


class BadRequest(Exception):
    """A request the endpoint cannot read: answered with `status` and no traceback."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.answer = error_response(status, code, message)


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole body; BadRequest for a malformed or too large Content-Length or a client too slow to send it."""
    raw = (environ.get("CONTENT_LENGTH") or "").strip()
    chunked = environ.get("wsgi.input_terminated", False)
    if raw and not (raw.isascii() and raw.isdigit()):
        raise BadRequest(400, "BadRequest", f"malformed Content-Length header: {raw[:40]!r}")
    length = int(raw) if raw else 0
    body: bytes
    if length > MAX_BODY_BYTES:
        raise BadRequest(413, "RequestEntityTooLarge", f"request body of {length} bytes is over the endpoint's "
                         f"limit of {MAX_BODY_BYTES} bytes")
    try:
        if chunked:
            body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                raise BadRequest(413, "RequestEntityTooLarge", "chunked request body over the endpoint's limit")
        else:
            body = environ["wsgi.input"].read(length) if length else b""
    except (TimeoutError, ConnectionError) as e:
        raise BadRequest(408, "RequestTimeout", f"the request body did not arrive ({e.__class__.__name__})") from e
    if len(body) < length:
        raise BadRequest(400, "IncompleteBody", f"the body ended after {len(body)} of {length} bytes")
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class EndpointServer(ThreadedWSGIServer):
    """werkzeug's threaded server with a bound: at most `max_connections` connections are served (one
    thread each); one more is answered 503 SlowDown at once and closed."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: WSGIApplication, max_connections: int = MAX_CONNECTIONS,
                 handler: type = NoDelayRequestHandler):
        super().__init__(host, port, app, handler=handler)
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0  # connections answered 503 because every slot was taken

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            body = json.dumps({"__type": "SlowDown", "message": "the local cloud's endpoint has "
                               f"{self.max_connections} connections open; try again"}).encode()
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    @property
    def connections(self) -> int:
        """Connections being served now."""
        return self.max_connections - self._slots._value


def _headers(environ: dict[str, Any]) -> Headers:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def _respond(start_response: StartResponse, status: int, headers: Headers | list[tuple[str, str]], body: bytes,
             close: bool = False) -> list[bytes]:
    items = list(headers.items()) if isinstance(headers, dict) else [
        (k, v) for k, v in headers if k.lower() != "content-length"]
    items.append(("Content-Length", str(len(body))))
    if close:  # what is left of the request on the connection cannot be read as the next one
        items.append(("Connection", "close"))
    start_response(f"{status} {_REASONS.get(status, 'OK')}", items)
    return [body]


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 408: "Request Timeout", 409: "Conflict", 413: "Request Entity Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}
