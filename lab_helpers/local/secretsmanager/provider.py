"""RotateSecret as Secrets Manager runs it: the rotation function's four steps, through the local Lambda.

moto stores a rotation but cannot run it (it would start its own Docker Lambda and mark the new version
current whatever the function did). Here, as on AWS:
- RotateSecret stores the rotation (function, schedule), attaches AWSPENDING to a new, empty version
  whose id is the ClientRequestToken (or a new one), answers at once, and then invokes the rotation
  function with `{"SecretId", "ClientRequestToken", "Step"}` for createSecret, setSecret, testSecret
  and finishSecret, in order, through the Lambda data plane;
- a RotateSecret whose token's version is AWSCURRENT already changes nothing; one while another version
  is still AWSPENDING (a rotation that did not finish) is refused;
- a step that fails stops the rotation: AWSPENDING stays where it is, AWSCURRENT does not move, and the
  error is in the function's log (and in the local cloud's status);
- the function's resource policy must let `secretsmanager.amazonaws.com` invoke it (for this secret, when it names one).
RotateImmediately=false stores the schedule and runs no step (the lab has no clock to run it later).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from .. import moto
from ..awslambda import FunctionNotFound, LambdaProvider, TooManyRequests, invoke_allowed
from ..gateway import Request, Response, error_response

log = logging.getLogger(__name__)
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
PRINCIPAL = "secretsmanager.amazonaws.com"


class SecretsManagerProvider:
    component = "secretsmanager"

    def __init__(self, lambdas: LambdaProvider):
        self.lambdas = lambdas
        self.rotations: dict[str, dict[str, Any]] = {}  # secret ARN -> the last rotation: token, step, outcome, error
        self._lock = threading.Lock()

    def route(self, request: Request) -> Response | None:
        if request.service != "secretsmanager" or not request.region:
            return None
        if request.operation != "RotateSecret":
            return None
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            return error_response(400, "InvalidParameterException", "the request body is not JSON")
        return self.rotate(request.region, params)

    def after(self, request: Request) -> None:
        """Nothing to follow: the rotation runs from `route`."""

    def rotate(self, region: str, params: dict[str, Any]) -> Response:
        secret = moto.secretsmanager.secret_versions(region, str(params.get("SecretId", "")))
        if secret is None:
            return error_response(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
        fn_arn = params.get("RotationLambdaARN") or secret.rotation_lambda_arn
        if not fn_arn:
            return error_response(400, "InvalidRequestException",
                                  "No Lambda rotation function ARN is associated with this secret.")
        try:
            if not invoke_allowed(region, fn_arn, PRINCIPAL, secret.arn):
                return error_response(400, "AccessDeniedException",
                                      "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                                      f"function policy grants access to the principal {PRINCIPAL}.")
        except FunctionNotFound:
            return error_response(400, "ResourceNotFoundException", f"Resource not found for ARN '{fn_arn}'.")
        token = str(params.get("ClientRequestToken") or uuid.uuid4())
        answer = 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"ARN": secret.arn, "Name": secret.name, "VersionId": token}).encode()
        if "AWSCURRENT" in secret.versions.get(token, ()):
            return answer  # this rotation happened already: a retry changes nothing
        pending = [v for v, stages in secret.versions.items() if "AWSPENDING" in stages and "AWSCURRENT" not in stages]
        if pending and pending != [token]:
            return error_response(400, "InvalidRequestException",
                                  "A previous rotation isn't complete. That rotation will be reattempted.")
        days = (params.get("RotationRules") or {}).get("AutomaticallyAfterDays")
        immediately = params.get("RotateImmediately", True) is not False
        moto.secretsmanager.start_rotation(region, secret.arn, token, fn_arn, days, pending=immediately)
        if immediately:
            with self._lock:
                self.rotations[secret.arn] = {"secret": secret.name, "token": token, "step": None,
                                              "outcome": "running", "error": None, "started": time.time()}
            threading.Thread(target=self._run, args=(region, secret.arn, fn_arn, token), name="secret-rotation",
                             daemon=True).start()
        return answer

    def _run(self, region: str, arn: str, fn_arn: str, token: str) -> None:
        """The four steps in order; the first that fails ends the rotation, as on AWS."""
        for step in STEPS:
            self._record(arn, step=step)
            try:
                result = self.lambdas.invoke(region, fn_arn, json.dumps(
                    {"SecretId": arn, "ClientRequestToken": token, "Step": step}).encode())
            except (FunctionNotFound, TooManyRequests) as e:
                self._record(arn, outcome="failed", error=f"{type(e).__name__}: {e}")
                return
            if result.function_error:
                try:
                    payload = json.loads(result.payload)
                    error = f"{payload.get('errorType')}: {payload.get('errorMessage')}"
                except ValueError:
                    error = result.payload.decode(errors="replace")
                log.warning("rotation of %s stopped at %s: %s", arn, step, error)
                self._record(arn, outcome="failed", error=f"{step}: {error}")
                return
        self._record(arn, outcome="succeeded")
        log.info("rotation of %s succeeded (version %s is AWSCURRENT)", arn, token)

    def _record(self, arn: str, **changes: Any) -> None:
        with self._lock:
            self.rotations.setdefault(arn, {}).update(changes)

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"rotations": [dict(r) for r in self.rotations.values()]}
