"""API Gateway's data plane in the local cloud: a REST API's stage URL, served.

On AWS the invoke URL is `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/<path>`;
locally it is `http://<api-id>.execute-api.localhost:<port>/<stage>/<path>` (names under
`.localhost` reach the loopback in curl and browsers), served by the endpoint by its Host header;
a request with AWS's own host name in its Host header, and moto's path form
`<endpoint>/restapis/<api-id>/<stage>/_user_request_/<path>`, reach the same stage. The API's resources,
methods, integrations and the function's resource policy are read from moto and honoured:
- `AWS` integration (the console's "Lambda Function", non-proxy, as in the module): the request
  body (or `{}`) is the event; the function's result is the response body, with the status of
  the integration response whose selection pattern matches (the default one otherwise), so a
  handler's dict comes back whole, e.g. `{"statusCode": 200, "body": "\"…\""}`;
- `AWS_PROXY` integration: the proxy event in, `statusCode`/`headers`/`body` out;
- the stage serves what its deployment froze: a method or integration changed later needs a new
  deployment (CreateDeployment), as on AWS;
- API Gateway's own answers where it would give them: no such stage → 403 Forbidden, no such
  route → 403 "Missing Authentication Token", no permission to invoke the function or no
  integration response → 500 "Internal server error", malformed proxy response → 502, a function
  still running after the integration timeout (29 s) → 504 "Endpoint request timed out" (the
  invocation itself goes on).
"""
from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import parse_qs

from .. import moto
from ..awslambda import FunctionNotFound, InvokeResult, LambdaProvider, TooManyRequests, invoke_allowed
from ..gateway import Request, Response
from ..moto.apigateway import Route

log = logging.getLogger(__name__)
STAGE_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
# <api-id>.execute-api.localhost[:port] locally; <api-id>.execute-api.<region>.amazonaws.com as on AWS
STAGE_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?:localhost|[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)\.?"
                        r"(?::\d+)?$", re.IGNORECASE)
HOST_STAGE_PATH = re.compile(r"^/(?P<stage>[^/]+)(?P<path>/.*)?$")
PAYLOAD_LIMIT = 10 * 1024 * 1024  # bytes: a REST API's largest request payload
INTEGRATION_TIMEOUT_S = 29.0  # a REST API's longest wait for its integration (the function goes on running)
LAMBDA_URI = re.compile(r":lambda:path/2015-03-31/functions/(?P<fn>arn:[^/]+)/invocations")


def _message(status: int, text: str) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": text}
    return status, headers, json.dumps({"message": text}).encode()


def match(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route | None, dict[str, Any]]:
    """The route whose path template matches (method, then ANY), and the path parameters."""
    path = "/" + path.strip("/")
    for wanted in (method, "ANY"):
        for route in routes:
            pattern = re.sub(r"\{([^/}+]+)\+\}", r"(?P<\1>.+)", route.path)
            pattern = re.sub(r"\{([^/}]+)\}", r"(?P<\1>[^/]+)", pattern)
            m = re.fullmatch(pattern.rstrip("/") or "/", path)
            if m and route.method == wanted:
                return route, m.groupdict()
    return None, {}


def stage_target(request: Request) -> tuple[str, str | None, str] | None:
    """(api id, stage or None, path after the stage) when the request is for a stage URL, else None."""
    host = STAGE_HOST.match(request.headers.get("host", ""))
    if host:
        m = HOST_STAGE_PATH.match(request.path)
        return (host.group("api").lower(), m.group("stage"), m.group("path") or "/") if m else \
            (host.group("api").lower(), None, "/")
    m = STAGE_PATH.match(request.path)
    return (m.group("api"), m.group("stage"), m.group("path") or "/") if m else None


def allowed(region: str, fn_arn: str, source_arn: str) -> bool:
    """Does the function's resource policy let API Gateway invoke it from this method?"""
    try:
        return invoke_allowed(region, fn_arn, "apigateway.amazonaws.com", source_arn)
    except FunctionNotFound:
        return False


class ApiGatewayProvider:
    component = "apigateway"

    def __init__(self, lambdas: LambdaProvider, integration_timeout: float = INTEGRATION_TIMEOUT_S):
        self.lambdas = lambdas
        self.integration_timeout = integration_timeout
        self._integrations = ThreadPoolExecutor(max_workers=64, thread_name_prefix="apigw-integration")
        self.deployments: dict[tuple[str, str], tuple[Route, ...]] = {}  # (api id, deployment id) -> routes

    def stages(self, port: int) -> list[dict[str, Any]]:
        """Every stage of every REST API with its invoke URL (on the endpoint's `port`)."""
        return [{"api": name, "api_id": api_id, "stage": stage, "region": region,
                 "address": f"http://{api_id}.execute-api.localhost:{port}/{stage}"}
                for region, api_id, name, stage in moto.apigateway.rest_api_stages()]

    def after(self, request: Request) -> None:
        """After a successful control-plane call: a new deployment freezes the API's routes, as on AWS."""
        m = re.match(r"^/restapis/(?P<api>[^/]+)/deployments/?$", request.path)
        if request.service != "apigateway" or request.method != "POST" or not m:
            return
        api = moto.apigateway.find_rest_api(m.group("api"))
        if api is None:
            return
        for deployment_id in api.deployment_ids:
            self.deployments.setdefault((api.id, deployment_id), api.routes)

    def route(self, request: Request) -> Response | None:
        target = stage_target(request)
        if target is None:
            return None
        request_id = str(uuid.uuid4())
        api_id, stage, path = target
        if len(request.body) > PAYLOAD_LIMIT:
            status, headers, body = _message(413, "Request Too Long")
        elif stage is None:  # the API's host with no stage in the path
            status, headers, body = _message(403, "Forbidden")
        else:
            status, headers, body = self.handle(request.method, api_id, stage, path, request.query, request.headers,
                                                request.body)
        # API Gateway's own headers on every answer of a stage
        return status, {**headers, "x-amzn-RequestId": request_id,
                        "x-amz-apigw-id": base64.b32encode(uuid.uuid4().bytes).decode()[:16]}, body

    def handle(self, method: str, api_id: str, stage: str, path: str, query: str, headers: dict[str, Any],
               body: bytes) -> Response:
        """One request to a stage: `path` is the part after the stage's name ("/" for the API's root)."""
        api = moto.apigateway.find_rest_api(api_id)
        if api is None:
            return _message(404, "Not Found")
        if stage not in api.stages:
            return _message(403, "Forbidden")
        # what the stage's deployment froze; a change since then needs a new deployment, as on AWS
        routes = self.deployments.get((api.id, api.stages[stage]), ())
        route, params = match(routes, method, path)
        if route is None:
            return _message(403, "Missing Authentication Token")
        target = LAMBDA_URI.search(route.uri or "")
        if route.integration_type not in ("AWS", "AWS_PROXY") or target is None:
            log.warning("Execution failed due to configuration error: no Lambda integration on %s %s", method, path)
            return _message(500, "Internal server error")
        fn_arn = target.group("fn")
        source_arn = f"arn:aws:execute-api:{api.region}:{moto.ACCOUNT}:{api.id}/{stage}/{method}{route.path}"
        if not allowed(api.region, fn_arn, source_arn):
            log.warning("Execution failed due to configuration error: Invalid permissions on Lambda function")
            return _message(500, "Internal server error")
        try:
            if route.integration_type == "AWS":
                return self._aws(api.region, fn_arn, route, body)
            event = self._proxy_event(api.id, stage, method, path, route.path,
                                      params, query, headers, body)
            return self._aws_proxy(api.region, fn_arn, event)
        except FunctionNotFound:
            log.warning("Execution failed due to configuration error: the integration's function does not exist")
            return _message(500, "Internal server error")
        except TooManyRequests:
            log.warning("Lambda throttled the integration's invocation: every execution environment is busy")
            return _message(500, "Internal server error")

    def _invoke(self, region: str, fn_arn: str, payload: bytes) -> InvokeResult | None:
        """The function's result, or None past the integration timeout (the invocation itself goes on)."""
        future = self._integrations.submit(self.lambdas.invoke, region, fn_arn, payload)
        try:
            return future.result(timeout=self.integration_timeout)
        except FutureTimeout:
            log.warning("Execution failed due to a timeout error: the integration took more than %.0f s",
                        self.integration_timeout)
            return None

    def _aws(self, region: str, fn_arn: str, route: Route, body: bytes) -> Response:
        result = self._invoke(region, fn_arn, body or b"{}")
        if result is None:
            return _message(504, "Endpoint request timed out")
        chosen = None
        if result.function_error:
            message = json.loads(result.payload or b"{}").get("errorMessage", "")
            chosen = next((status for status, pattern in route.responses
                           if pattern and re.fullmatch(pattern, message, re.S)), None)
        if chosen is None:
            chosen = next((status for status, pattern in route.responses if not pattern), None)
        if chosen is None:
            log.warning("Execution failed due to configuration error: No match for output mapping and no default")
            return _message(500, "Internal server error")
        return int(chosen), {"Content-Type": "application/json"}, result.payload

    def _aws_proxy(self, region: str, fn_arn: str, event: dict[str, Any]) -> Response:
        result = self._invoke(region, fn_arn, json.dumps(event).encode())
        if result is None:
            return _message(504, "Endpoint request timed out")
        try:
            if result.function_error:
                raise ValueError("function error")
            out = json.loads(result.payload)
            status = int(out.get("statusCode", 200))
            headers = {k: str(v) for k, v in (out.get("headers") or {}).items()}
            body = out.get("body") or ""
            data = base64.b64decode(body) if out.get("isBase64Encoded") else str(body).encode()
        except (ValueError, TypeError, AttributeError):
            return _message(502, "Internal server error")
        headers.setdefault("Content-Type", "application/json")
        return status, headers, data

    @staticmethod
    def _proxy_event(api_id: str, stage: str, method: str, path: str, resource_path: str, params: dict[str, Any],
                     query: str, headers: dict[str, Any], body: bytes) -> dict[str, Any]:
        multi = parse_qs(query or "", keep_blank_values=True)
        try:
            text, b64 = body.decode(), False
        except UnicodeDecodeError:
            text, b64 = base64.b64encode(body).decode(), True
        return {
            "resource": resource_path, "path": path, "httpMethod": method,
            "headers": headers or None, "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "pathParameters": params or None, "stageVariables": None,
            "requestContext": {"resourcePath": resource_path, "httpMethod": method, "path": f"/{stage}{path}",
                               "stage": stage, "apiId": api_id, "accountId": moto.ACCOUNT,
                               "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
                               "identity": {"sourceIp": "127.0.0.1"}},
            "body": text or None, "isBase64Encoded": b64,
        }
