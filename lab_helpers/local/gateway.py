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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol
from urllib.parse import parse_qs

from . import moto_adapter
from .faults import Faults
from .state import HEALTH_PATH

log = logging.getLogger(__name__)
READ_ONLY_PREFIXES = ("Describe", "List", "Get")

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


class NoDelayRequestHandler(moto_adapter.RequestHandler):
    """Nagle's algorithm with delayed ACKs adds ~40 ms to small request/response exchanges."""

    disable_nagle_algorithm = True

    def log_request(self, *args, **kwargs) -> None:  # one line per AWS call is noise here
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

    def __init__(self, providers: list[Provider], guards: list[Guard], health: Callable[[], dict], faults: Faults):
        self.providers = providers
        self.guards = guards
        self.health = health
        self.faults = faults
        self.moto = moto_adapter.wsgi_app()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = _read_body(environ)
        key, service, region = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        request = Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                          _headers(environ), body, service, region, key)
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

    def _call_moto(self, environ: dict) -> tuple[int, list, bytes]:
        captured: dict = {}
        chunks: list[bytes] = []

        def start_response(status, headers, exc_info=None):
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


def _read_body(environ: dict) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _headers(environ: dict) -> Headers:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def _respond(start_response: Callable, status: int, headers, body: bytes) -> list[bytes]:
    items = list(headers.items()) if isinstance(headers, dict) else [
        (k, v) for k, v in headers if k.lower() != "content-length"]
    items.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_REASONS.get(status, 'OK')}", items)
    return [body]


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 409: "Conflict", 413: "Request Entity Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}
