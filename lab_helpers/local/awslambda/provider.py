"""Lambda's Invoke API in the local cloud, on top of moto's Lambda control plane.

CreateFunction, UpdateFunctionCode and the rest go to moto, which keeps the deployed zip.
Invoke comes here: the function's current code and configuration are read from moto and run
in a real execution environment (`environments.LambdaService`, awslambdaric underneath).
"""
from __future__ import annotations

import base64
import dataclasses
import fnmatch
import hashlib
import json
import logging
import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from .. import moto
from ..gateway import Request, Response
from ..vpc.function_access import FunctionAccess
from .environments import LambdaService
from .function import FunctionVersion, InvokeResult, TooManyRequests

log = logging.getLogger(__name__)
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
FUNCTION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)(?P<rest>/.*)?$")
FunctionNotFound = moto.FunctionNotFound
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes, request and response of a synchronous invocation
ASYNC_PAYLOAD_LIMIT = 256 * 1024  # bytes, an asynchronous (Event) invocation's request
ENVIRONMENT_LIMIT = 4 * 1024  # bytes, a function's environment variables, keys and values together


def function_name(name_or_arn: str) -> str:
    """FunctionName may be a name, a partial ARN or a full ARN (optionally with a qualifier)."""
    name_or_arn = unquote(name_or_arn)
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    if ":" in name_or_arn:  # 123456789012:function:name
        parts = name_or_arn.split(":")
        return parts[2] if len(parts) >= 3 and parts[1] == "function" else parts[0]
    return name_or_arn


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "Message": message, "message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body


def _environment_too_large(body: bytes) -> Response | None:
    """Lambda's refusal of environment variables over 4 KB (keys and values together), or None."""
    try:
        variables = (json.loads(body or b"{}").get("Environment") or {}).get("Variables") or {}
    except (ValueError, AttributeError):
        return None
    size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in variables.items())
    if size <= ENVIRONMENT_LIMIT:
        return None
    return _error(400, "InvalidParameterValueException",
                  "Lambda was unable to configure your environment variables because the environment variables "
                  f"you have provided exceeded the 4KB limit. String measured: {size} bytes")


def invoke_allowed(region: str, fn_arn: str, service: str, source_arn: str) -> bool:
    """Does the function's resource policy let `service` (e.g. "apigateway.amazonaws.com") invoke it for
    `source_arn` (an `ArnLike AWS:SourceArn` condition, when the statement has one)? FunctionNotFound when
    there is no such function."""
    for st in moto.awslambda.function_policy_statements(region, function_name(fn_arn)):
        principal = st.get("Principal", {})
        named = principal.get("Service") if isinstance(principal, dict) else principal
        if st.get("Effect") != "Allow" or named != service:
            continue
        if st.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        pattern = st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if pattern is None or fnmatch.fnmatchcase(source_arn, pattern):
            return True
    return False


class LambdaProvider:
    component = "lambda"

    def __init__(self, service: LambdaService, access: FunctionAccess, endpoint: str):
        self.service = service
        self.access = access
        self.endpoint = endpoint  # where GetFunction's Code.Location points

    def version(self, region: str, name_or_arn: str, qualifier: str | None = None) -> FunctionVersion:
        """The function as deployed now (FunctionNotFound when there is none)."""
        fn = moto.awslambda.deployed_function(region, function_name(name_or_arn), qualifier)
        settings: dict[str, Any] = dict(handler=fn.handler, runtime=fn.runtime, timeout=fn.timeout,
                                        memory_size=fn.memory_size, environment=fn.environment)
        # any change of code or configuration means new execution environments, as on AWS
        key = hashlib.sha256(json.dumps([fn.code_sha256, fn.role, settings], sort_keys=True).encode()).hexdigest()
        return FunctionVersion(name=fn.name, arn=fn.arn, code_sha256=fn.code_sha256, code_zip=fn.code_zip,
                               config_key=key[:16], credentials=self.access.credentials_for(fn), region=region,
                               **settings)

    def invoke(self, region: str, name_or_arn: str, payload: bytes) -> InvokeResult:
        """Invoke synchronously (used by API Gateway too)."""
        return self.service.invoke(self.version(region, name_or_arn), payload or b"{}")

    def route(self, request: Request) -> Response | None:
        if request.method == "GET" and request.path.startswith(moto.awslambda.CODE_PATH + "/"):
            return self.code_download(request.path, request.query)
        if request.service == "lambda" and request.method in ("POST", "PUT") and FUNCTION_PATH.match(request.path):
            refused = _environment_too_large(request.body)  # CreateFunction, UpdateFunctionConfiguration
            if refused:
                return refused
        invoke = INVOKE_PATH.match(request.path)
        if request.service != "lambda" or request.method != "POST" or not invoke or not request.region:
            return None
        return self.handle_invoke(request.region, invoke.group("name"), request.query, request.headers, request.body)

    def code_download(self, path: str, query: str) -> Response:
        """GetFunction's Code.Location: the deployed zip, while it is still the function's code."""
        region, _, name = path.removeprefix(moto.awslambda.CODE_PATH + "/").partition("/")
        found = moto.awslambda.function_code(region, name)
        wanted = (parse_qs(query).get("sha256") or [""])[0]
        if found is None or (wanted and wanted != found[0]):
            return 404, {"Content-Type": "application/xml"}, (
                b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist: the function or this "
                b"version of its code is gone; call GetFunction again.</Message></Error>")
        return 200, {"Content-Type": "application/zip"}, found[1]

    def handle_invoke(self, region: str, name: str, query: str, headers: dict[str, Any], body: bytes) -> Response:
        qualifier = next(iter(parse_qs(query).get("Qualifier", [])), None)
        try:
            fn = self.version(region, name, qualifier)
        except FunctionNotFound:
            arn = f"arn:aws:lambda:{region}:{moto.ACCOUNT}:function:{function_name(name)}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(body) > limit:
            return _error(413, "RequestTooLargeException",
                          f"{len(body)} byte payload is too large for the {invocation_type} invocation type "
                          f"(limit {limit} bytes)")
        if invocation_type == "DryRun":
            return 204, {}, b""
        if invocation_type == "Event":
            threading.Thread(target=self._invoke_quietly, args=(fn, body), daemon=True).start()
            return 202, {"x-amzn-RequestId": str(uuid.uuid4())}, b""
        try:
            result = self.service.invoke(fn, body or b"{}")
        except TooManyRequests as e:
            return _error(429, "TooManyRequestsException", str(e) or "Rate Exceeded.")
        out = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST",
               "x-amzn-RequestId": result.request_id}
        if len(result.payload) > SYNC_PAYLOAD_LIMIT:  # the function ran; its answer cannot be returned
            result = dataclasses.replace(result, function_error="Unhandled", payload=json.dumps({
                "errorMessage": f"Response payload size ({len(result.payload)} bytes) exceeded maximum allowed "
                                f"payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                "errorType": "Function.ResponseSizeTooLarge"}).encode())
        if result.function_error:
            out["X-Amz-Function-Error"] = result.function_error
        if headers.get("x-amz-log-type", "None") == "Tail":
            out["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()[-4096:]).decode()
        return 200, out, result.payload

    def _invoke_quietly(self, fn: FunctionVersion, body: bytes) -> None:
        try:
            self.service.invoke(fn, body or b"{}")
        except TooManyRequests:  # an asynchronous invocation's throttling only shows in the function's log
            log.warning("asynchronous invocation of %s throttled: every environment is busy", fn.name)

    def after(self, request: Request) -> None:
        """After a successful control-plane call: retire environments that no longer match."""
        m = FUNCTION_PATH.match(request.path)
        if request.service != "lambda" or not request.region or not m or request.method not in ("PUT", "DELETE"):
            return
        name = function_name(m.group("name"))
        if request.method == "DELETE" and not m.group("rest"):
            self.service.retire(name)
            return
        try:
            self.service.retire(name, keep_key=self.version(request.region, name).config_key)
        except FunctionNotFound:  # e.g. a permission removed from a function deleted meanwhile
            self.service.retire(name)

    def health(self) -> dict[str, Any]:
        return {"environments": self.service.environments()}

