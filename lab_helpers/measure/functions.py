"""The functions the measurements deploy next to the lab's: what they need, how they are deployed,
found, deleted and invoked, and how their outcomes are counted.

They are named `<function>-m2`, `-printed`, `-m3`, `-storm` and `-pinning`, configured like the
lab's function (role, VPC, memory) and tagged like the rest. `invoke` reads each call's outcome
and Lambda's REPORT figures; `invoke_concurrently` releases many calls at the same moment.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypedDict

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import baseline, iam, lambda_fn, module3, proxy, rds, secrets
from ..core.config import Lab
from .cloud import require_local
from .names import function_name

FUNCTION_TIMEOUT_S = 30

REPORT_DURATION = re.compile(r"REPORT RequestId: \S+\s+Duration: ([\d.]+) ms")
REPORT_INIT = re.compile(r"Init Duration: ([\d.]+) ms")
MYSQL_CODE = re.compile(r"^\((\d+),")


# ---------------------------------------------------------------- prerequisites

def prepare(lab: Lab) -> list[str]:
    """The Module 2 baseline and Module 3, brought up or found (tests and the benchmark start here);
    returns what is still missing (empty)."""
    require_local(lab)
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    return missing_prerequisites(lab)


def missing_prerequisites(lab: Lab) -> list[str]:
    """What the measurements need that is not there (empty when ready): the notebooks 00-04 make all of it."""
    missing = []
    if rds.find_db_instance(lab) is None:
        missing.append(f"DB instance {lab.names.db_instance} (00_prerequisites)")
    if secrets.find_secret(lab) is None:
        missing.append(f"secret {lab.names.secret} (01_secrets_manager)")
    found = proxy.find_proxy(lab)
    if found is None or found["state"] != "available":
        missing.append(f"RDS Proxy {lab.names.proxy} (03_rds_proxy)")
    if iam.find_function_secret_policy(lab) is None and not _has_read_write(lab):
        missing.append("the function role's permission to read the secret (04_lambda_update)")
    return missing


def _has_read_write(lab: Lab) -> bool:
    role = iam.find_lambda_role(lab)
    return role is not None and "SecretsManagerReadWrite" in role["managed_policies"]


# ---------------------------------------------------------------- measurement functions

def _deploy(lab: Lab, key: str, package: bytes, environment: dict[str, str]) -> str:
    """A measurement function with exactly this code and environment, deployed like the lab's function
    (role, VPC, memory) with the lesson's own helper; an update retires its execution environments."""
    return lambda_fn.ensure_function(lab, package, environment, name=function_name(lab, key),
                                     timeout_s=FUNCTION_TIMEOUT_S, module=3)["name"]


def find_measurement_function(lab: Lab, key: str) -> lambda_fn.FunctionView | None:
    """A measurement function, or None."""
    return lambda_fn.find_function(lab, function_name(lab, key))


def delete_measurement_function(lab: Lab, key: str) -> bool:
    """Delete it (its execution environments stop, and their connections close); False when already gone."""
    return lambda_fn.delete_function(lab, function_name(lab, key))


def deploy_variant(lab: Lab, key: str) -> str:
    """One of the three variants of the module's function as a measurement function; its name."""
    if key == "module2":
        edits = {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: rds.db_host(lab)}
        password = secrets.database_password(lab)
        if password != lab.names.db_master_password:  # rotated (notebook 07): as a learner would edit the code
            edits[f"password = '{lab.names.db_master_password}'"] = f"password = '{password}'"
        return _deploy(lab, key, lambda_fn.build_package("module2", edits), {})
    if key == "module3_printed":
        return _deploy(lab, key, module3.printed_package(lab), {})
    if key == "module3":
        return _deploy(lab, key, lambda_fn.build_package("module3"), module3.function_environment(lab))
    raise ValueError(f"unknown variant {key!r}")


def _credentials_environment(lab: Lab, host: str) -> dict[str, str]:
    return {"DB_HOST": host, "DB_USER": lab.names.db_master_user, "DB_PASSWORD": secrets.database_password(lab)}


def deploy_storm(lab: Lab, host: str, hold_s: float) -> str:
    """handler/storm (a module-scope connection to `host`, held `hold_s` per call); its name."""
    return _deploy(lab, "storm", lambda_fn.build_package("storm"),
                   {**_credentials_environment(lab, host), "HOLD_S": str(hold_s)})


def deploy_pinning(lab: Lab, fix: str, hold_s: float) -> str:
    """handler/pinning through the proxy, with FIX=`fix` ("none", "commit" or "autocommit"), holding its query
    `hold_s`; its name."""
    return _deploy(lab, "pinning", lambda_fn.build_package("pinning"),
                   {**_credentials_environment(lab, proxy.proxy_endpoint(lab)), "FIX": fix, "HOLD_S": str(hold_s)})


# ---------------------------------------------------------------- invoking

def lambda_client(lab: Lab, concurrency: int = 1) -> Any:  # a boto3 Lambda client
    """A Lambda client for `concurrency` simultaneous calls, without retries (each call counts once)."""
    config = Config(max_pool_connections=max(10, concurrency + 4), connect_timeout=5, read_timeout=120,
                    retries={"max_attempts": 1, "mode": "standard"})
    return lab.session.client("lambda", endpoint_url=lab.endpoint_url, config=config)


def _error_code(message: str) -> int | None:
    match = MYSQL_CODE.match(message or "")
    return int(match.group(1)) if match else None


def _outcome(function_error: str | None, payload: Any) -> tuple[str | None, int | None]:
    """(error type, MySQL error code) of an invocation's result; (None, None) when it succeeded.

    An unhandled error comes back as Lambda's {"errorType", "errorMessage"}; the project's handler
    handles database errors and returns statusCode 500 with the same two fields in its body.
    """
    if function_error:
        error = payload if isinstance(payload, dict) else {}
        return str(error.get("errorType", function_error)), _error_code(str(error.get("errorMessage", "")))
    if isinstance(payload, dict) and payload.get("statusCode") not in (None, 200):
        try:
            body = json.loads(payload.get("body") or "{}")
        except ValueError:
            body = {}
        return str(body.get("errorType", f"status {payload.get('statusCode')}")), \
            _error_code(str(body.get("errorMessage", "")))
    return None, None


class Invocation(TypedDict):
    """One invocation as `invoke` measured it."""
    ok: bool
    error_type: str | None  # FunctionError's errorType, the API's error code, or the client's exception
    error_code: int | None  # the MySQL error code in the function's error message, if any
    duration_ms: float | None  # REPORT Duration
    init_ms: float | None  # REPORT Init Duration (a cold start)
    start_s: float  # seconds since t0
    end_s: float


def invoke(client: Any, name: str, payload: dict[str, Any] | None = None, t0: float | None = None) -> Invocation:
    """Invoke synchronously with LogType=Tail: the outcome and Lambda's REPORT figures.

    {"ok", "error_type", "error_code", "duration_ms", "init_ms", "start_s", "end_s"}; the times are
    seconds since `t0` (a time.perf_counter() value).
    """
    t0 = time.perf_counter() if t0 is None else t0
    started = time.perf_counter()
    duration = init = None
    try:
        response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail")
        body = response["Payload"].read()
        log = base64.b64decode(response.get("LogResult") or b"").decode(errors="replace")
        if match := REPORT_DURATION.search(log):
            duration = float(match.group(1))
        if match := REPORT_INIT.search(log):
            init = float(match.group(1))
        try:
            result = json.loads(body) if body else None
        except ValueError:
            result = None
        error_type, code = _outcome(response.get("FunctionError"), result)
    except ClientError as e:  # e.g. TooManyRequestsException: every environment busy
        error_type, code = e.response.get("Error", {}).get("Code", "ClientError"), None
    except BotoCoreError as e:
        error_type, code = type(e).__name__, None
    ended = time.perf_counter()
    return {"ok": error_type is None, "error_type": error_type, "error_code": code, "duration_ms": duration,
            "init_ms": init, "start_s": round(started - t0, 3), "end_s": round(ended - t0, 3)}


def invoke_concurrently(lab: Lab, name: str, concurrency: int, payload: dict[str, Any] | None = None,
                        t0: float | None = None) -> list[Invocation]:
    """`concurrency` invocations released at the same moment (Lambda starts one environment for each)."""
    client = lambda_client(lab, concurrency)
    barrier = threading.Barrier(concurrency)

    def one(_: int) -> Invocation:
        barrier.wait()
        return invoke(client, name, payload, t0)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(concurrency)))


def tally(results: list[Invocation]) -> dict[str, Any]:
    """Invocations, successes, errors and errors by MySQL code (or error type)."""
    codes: dict[str, int] = {}
    for r in results:
        if not r["ok"]:
            key = str(r["error_code"] or r["error_type"])
            codes[key] = codes.get(key, 0) + 1
    return {"invocations": len(results), "successes": sum(r["ok"] for r in results),
            "errors": sum(not r["ok"] for r in results), "error_codes": dict(sorted(codes.items()))}


def checked(result: Invocation, name: str) -> Invocation:
    """The invocation's result, or a RuntimeError naming the function and its error."""
    measured_ms(result, name)
    return result


def measured_ms(result: Invocation, name: str) -> float:
    """The invocation's REPORT Duration, or a RuntimeError naming the function and its error."""
    duration = result["duration_ms"]
    if not result["ok"] or duration is None:
        raise RuntimeError(f"function {name} failed: {result['error_type']} (MySQL error {result['error_code']})")
    return duration
