"""API Gateway's data plane in the local cloud: a REST API's stage URL, served.

On AWS the invoke URL is `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/<path>`;
locally it is `<endpoint>/restapis/<api-id>/<stage>/_user_request_/<path>`. The API's resources,
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
  integration response → 500 "Internal server error", malformed proxy response → 502.
"""
from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID

from .lambda_provider import LambdaProvider, function_name

log = logging.getLogger(__name__)
STAGE_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
LAMBDA_URI = re.compile(r":lambda:path/2015-03-31/functions/(?P<fn>arn:[^/]+)/invocations")


def _message(status: int, text: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": text}, json.dumps({"message": text}).encode()


def _find_api(api_id: str):
    from moto.apigateway.models import apigateway_backends  # loads on first use (~1 s)

    for region, backend in list(apigateway_backends[DEFAULT_ACCOUNT_ID].items()):
        api = backend.apis.get(api_id)
        if api is not None:
            return region, api
    return None, None


@dataclass(frozen=True)
class Route:
    """One method of one resource as a deployment froze it."""
    path: str  # the resource's path template, e.g. "/" or "/items/{id}"
    method: str
    integration_type: str | None
    uri: str | None
    responses: tuple[tuple[str, str | None], ...]  # integration responses: (status code, selection pattern)


def routes_of(api) -> tuple[Route, ...]:
    """The API's methods as they are now (what a deployment freezes)."""
    out = []
    for resource in api.resources.values():
        for method, found in resource.resource_methods.items():
            integration = found.method_integration
            responses = tuple((str(r.status_code), r.selection_pattern)
                              for r in ((integration.integration_responses or {}).values() if integration else []))
            out.append(Route(resource.get_path(), method, integration.integration_type if integration else None,
                             integration.uri if integration else None, responses))
    return tuple(out)


def _match(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route | None, dict]:
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


def _allowed(region: str, fn_arn: str, source_arn: str) -> bool:
    """Does the function's resource policy let API Gateway invoke it from this method?"""
    from moto.awslambda.models import lambda_backends

    try:
        fn = lambda_backends[DEFAULT_ACCOUNT_ID][region].get_function(function_name(fn_arn))
    except Exception:
        return False
    for st in fn.policy.statements:
        principal = st.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if st.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        if st.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        pattern = st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if pattern is None or fnmatch.fnmatchcase(source_arn, pattern):
            return True
    return False


class ApiGatewayProvider:
    def __init__(self, lambdas: LambdaProvider):
        self.lambdas = lambdas
        self.deployments: dict[tuple[str, str], tuple[Route, ...]] = {}  # (api id, deployment id) -> routes

    def after(self, method: str, path: str) -> None:
        """After a successful control-plane call: a new deployment freezes the API's routes, as on AWS."""
        m = re.match(r"^/restapis/(?P<api>[^/]+)/deployments/?$", path)
        if method != "POST" or not m:
            return
        _, api = _find_api(m.group("api"))
        for deployment_id in api.deployments if api else ():
            self.deployments.setdefault((api.id, deployment_id), routes_of(api))

    def handle(self, method: str, path: str, query: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        m = STAGE_PATH.match(path)
        region, api = _find_api(m.group("api")) if m else (None, None)
        if api is None:
            return _message(404, "Not Found")
        stage = api.stages.get(m.group("stage"))
        if stage is None:
            return _message(403, "Forbidden")
        # what the stage's deployment froze; a change since then needs a new deployment, as on AWS
        routes = self.deployments.get((api.id, stage.deployment_id), ())
        route, params = _match(routes, method, m.group("path") or "/")
        if route is None:
            return _message(403, "Missing Authentication Token")
        target = LAMBDA_URI.search(route.uri or "")
        if route.integration_type not in ("AWS", "AWS_PROXY") or target is None:
            log.warning("Execution failed due to configuration error: no Lambda integration on %s %s", method, path)
            return _message(500, "Internal server error")
        fn_arn = target.group("fn")
        source_arn = f"arn:aws:execute-api:{region}:{DEFAULT_ACCOUNT_ID}:{api.id}/{stage.name}/{method}{route.path}"
        if not _allowed(region, fn_arn, source_arn):
            log.warning("Execution failed due to configuration error: Invalid permissions on Lambda function")
            return _message(500, "Internal server error")
        if route.integration_type == "AWS":
            return self._aws(region, fn_arn, route, body)
        event = self._proxy_event(api.id, stage.name, method, m.group("path") or "/", route.path,
                                  params, query, headers, body)
        return self._aws_proxy(region, fn_arn, event)

    def _aws(self, region: str, fn_arn: str, route: Route, body: bytes) -> tuple[int, dict, bytes]:
        result = self.lambdas.invoke(region, fn_arn, body or b"{}")
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

    def _aws_proxy(self, region: str, fn_arn: str, event: dict) -> tuple[int, dict, bytes]:
        result = self.lambdas.invoke(region, fn_arn, json.dumps(event).encode())
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
    def _proxy_event(api_id, stage, method, path, resource_path, params, query, headers, body) -> dict:
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
                               "stage": stage, "apiId": api_id, "accountId": DEFAULT_ACCOUNT_ID,
                               "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
                               "identity": {"sourceIp": "127.0.0.1"}},
            "body": text or None, "isBase64Encoded": b64,
        }
