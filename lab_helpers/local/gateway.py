"""The local cloud's one endpoint: every boto3 client of the lab (and of its Lambda functions) talks to it.

Requests whose behaviour needs the data plane go to the project's providers (Lambda Invoke, the
API Gateway stage URL); everything else goes to moto, running in this process in server mode.
After a successful mutating call, the provider of that service brings its data plane in line
(RDS instances and proxies, Lambda environments). This is the pattern LocalStack uses: a provider
per service, with moto as the fallback.
"""
from __future__ import annotations

import io
import json
import logging
import time
from typing import TYPE_CHECKING, Callable, Iterable
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from .apigw_provider import STAGE_PATH
from .function_access import HANG_SECONDS
from .lambda_provider import INVOKE_PATH
from .state import HEALTH_PATH

if TYPE_CHECKING:
    from .cloud import LocalCloud

log = logging.getLogger(__name__)
READ_ONLY_PREFIXES = ("Describe", "List", "Get")


class NoDelayRequestHandler(MotoRequestHandler):
    """Nagle's algorithm with delayed ACKs adds ~40 ms to small request/response exchanges."""

    disable_nagle_algorithm = True

    def log_request(self, *args, **kwargs) -> None:  # one line per AWS call is noise here
        pass


def signing_scope(environ: dict) -> tuple[str | None, str | None]:
    """(service, region) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        _, _, region, service, _ = scope.split("/")
        return service, region
    except (IndexError, ValueError):
        return None, None


def _headers(environ: dict) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


class Gateway:
    def __init__(self, cloud: "LocalCloud"):
        self.cloud = cloud
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        body = self._read_body(environ)
        if path == HEALTH_PATH:
            return self._respond(start_response, 200, {"Content-Type": "application/json"},
                                 json.dumps(self.cloud.health()).encode())
        if STAGE_PATH.match(path):
            return self._respond(start_response, *self.cloud.apigw.handle(method, path, query, _headers(environ), body))
        service, region = signing_scope(environ)
        invoke = INVOKE_PATH.match(path)
        if service == "lambda" and method == "POST" and invoke:
            return self._respond(start_response, *self.cloud.lambdas.handle_invoke(
                region, invoke.group("name"), query, _headers(environ), body))
        verdict = self.cloud.access.check(environ, service, body)
        if verdict.hang:  # no network path from the function's VPC: nothing answers
            time.sleep(HANG_SECONDS)
            return self._respond(start_response, 504, {}, b"")
        if verdict.denial:
            return self._respond(start_response, *verdict.denial)
        status, headers, out = self._call_moto(environ)
        if 200 <= status < 300:
            self._after(service, region, method, path, body)
        return self._respond(start_response, status, headers, out)

    @staticmethod
    def _read_body(environ: dict) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

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

    def _after(self, service: str | None, region: str | None, method: str, path: str, body: bytes) -> None:
        try:
            if service == "rds":
                action = (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0]
                if action and not action.startswith(READ_ONLY_PREFIXES):
                    self.cloud.rds.after(action)
            elif service == "lambda" and region:
                self.cloud.lambdas.after(region, method, path)
            elif service == "apigateway":
                self.cloud.apigw.after(method, path)
        except Exception:  # the control-plane call succeeded; say what the data plane could not do
            log.exception("local data plane could not follow %s %s", service, path)

    @staticmethod
    def _respond(start_response: Callable, status: int, headers, body: bytes) -> list[bytes]:
        items = list(headers.items()) if isinstance(headers, dict) else [
            (k, v) for k, v in headers if k.lower() != "content-length"]
        items.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS.get(status, 'OK')}", items)
        return [body]


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 504: "Gateway Timeout"}
