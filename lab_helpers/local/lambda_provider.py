"""Lambda's Invoke API in the local cloud, on top of moto's Lambda control plane.

CreateFunction, UpdateFunctionCode and the rest go to moto, which keeps the deployed zip.
Invoke comes here: the function's current code and configuration are read from moto and run
in a real execution environment (`lambda_runtime.LambdaService`, awslambdaric underneath).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import uuid
from urllib.parse import parse_qs, unquote

from moto.core import DEFAULT_ACCOUNT_ID

from .function_access import FunctionAccess
from .lambda_runtime import FunctionVersion, InvokeResult, LambdaService, TooManyRequests

log = logging.getLogger(__name__)
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
FUNCTION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)(?P<rest>/.*)?$")


def function_name(name_or_arn: str) -> str:
    """FunctionName may be a name, a partial ARN or a full ARN (optionally with a qualifier)."""
    name_or_arn = unquote(name_or_arn)
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    if ":" in name_or_arn:  # 123456789012:function:name
        parts = name_or_arn.split(":")
        return parts[2] if len(parts) >= 3 and parts[1] == "function" else parts[0]
    return name_or_arn


def _error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    body = json.dumps({"Type": "User", "Message": message, "message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body


class LambdaProvider:
    def __init__(self, service: LambdaService, access: FunctionAccess):
        self.service = service
        self.access = access

    def version(self, region: str, name_or_arn: str, qualifier: str | None = None) -> FunctionVersion:
        """The function as deployed now (raises moto's UnknownFunctionException when missing)."""
        from moto.awslambda.models import lambda_backends  # loads on first use

        fn = lambda_backends[DEFAULT_ACCOUNT_ID][region].get_function(function_name(name_or_arn), qualifier)
        settings = dict(handler=fn.handler, runtime=fn.run_time or "python3.12", timeout=float(fn.timeout),
                        memory_size=int(fn.memory_size), environment=dict(fn.environment_vars or {}))
        # any change of code or configuration means new execution environments, as on AWS
        key = hashlib.sha256(json.dumps([fn.code_sha_256, fn.role, settings], sort_keys=True).encode()).hexdigest()
        return FunctionVersion(name=fn.function_name, arn=fn.function_arn, code_sha256=fn.code_sha_256,
                               code_zip=fn.code_bytes, config_key=key[:16],
                               credentials=self.access.credentials_for(region, fn), **settings)

    def invoke(self, region: str, name_or_arn: str, payload: bytes) -> InvokeResult:
        """Invoke synchronously (used by API Gateway too)."""
        return self.service.invoke(self.version(region, name_or_arn), payload or b"{}")

    def handle_invoke(self, region: str, name: str, query: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        qualifier = (parse_qs(query).get("Qualifier") or [None])[0]
        try:
            fn = self.version(region, name, qualifier)
        except Exception:
            arn = f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT_ID}:function:{function_name(name)}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
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
        if result.function_error:
            out["X-Amz-Function-Error"] = result.function_error
        if headers.get("x-amz-log-type", "None") == "Tail":
            out["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()[-4096:]).decode()
        return 200, out, result.payload

    def _invoke_quietly(self, fn: FunctionVersion, body: bytes) -> None:
        try:
            self.service.invoke(fn, body or b"{}")
        except Exception:  # an asynchronous invocation's failure only shows in the function's log
            log.exception("asynchronous invocation of %s failed", fn.name)

    def after(self, region: str, method: str, path: str) -> None:
        """After a successful control-plane call: retire environments that no longer match."""
        m = FUNCTION_PATH.match(path)
        if not m or method not in ("PUT", "DELETE"):
            return
        name = function_name(m.group("name"))
        if method == "DELETE" and not m.group("rest"):
            self.service.retire(name)
            return
        try:
            self.service.retire(name, keep_key=self.version(region, name).config_key)
        except Exception:
            log.debug("function %s not found after update", name)
