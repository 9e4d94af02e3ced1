"""Lambda on the local cloud behaves as on AWS where the lab depends on it."""
from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest

from lab_helpers import iam
from lab_helpers.core import web

PROBE = '''
import os

def lambda_handler(event, context):
    if event.get("big"):
        return "x" * event["big"]
    return {"version": "VERSION", "pid": os.getpid()}
'''
NAME = "lab-test-probe"


def package(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", PROBE.replace("VERSION", version))
    return buf.getvalue()


def deployed(get_function: dict) -> str:
    """The version in the code that GetFunction's Code.Location downloads (checked against CodeSha256)."""
    import hashlib

    answer = web.get(get_function["Code"]["Location"])
    assert answer.status == 200 and answer.headers["content-type"] == "application/zip"
    digest = base64.b64encode(hashlib.sha256(answer.body).digest()).decode()
    assert digest == get_function["Configuration"]["CodeSha256"]
    with zipfile.ZipFile(io.BytesIO(answer.body)) as z:
        return re.search(r'"version": ("v\d")', z.read("lambda_function.py").decode()).group(1)


def invoke(lab, event: dict | None = None) -> tuple[dict, str, str | None]:
    r = lab.client("lambda").invoke(FunctionName=NAME, Payload=json.dumps(event or {}), LogType="Tail")
    return json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode(), r.get("FunctionError")


@pytest.fixture(scope="module")
def probe(lab):
    role = iam.ensure_lambda_role(lab)
    lam = lab.client("lambda")
    lam.create_function(FunctionName=NAME, Runtime="python3.12", Role=role["arn"], Timeout=2,
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": package("v1")})
    yield
    lam.delete_function(FunctionName=NAME)


def test_new_code_from_update_function_code_is_what_runs_next(probe, lab):
    """Cloud level: UpdateFunctionCode through the Lambda API gives a new revision, its zip at Code.Location and a
    new environment; tests/test_lambda_runtime.py's test_a_new_config_key_runs_the_new_code_in_a_new_environment
    covers the data plane under it (the old environment's process stopped, only the new one listed)."""
    lam = lab.client("lambda")
    before, _, _ = invoke(lab)
    first = lam.get_function(FunctionName=NAME)
    assert deployed(first) == '"v1"'  # GetFunction's Code.Location downloads the deployed zip
    updated = lam.update_function_code(FunctionName=NAME, ZipFile=package("v2"))
    assert updated["RevisionId"] != first["Configuration"]["RevisionId"]  # in the update's own answer
    assert updated["LastModified"] > first["Configuration"]["LastModified"]
    lam.get_waiter("function_updated").wait(FunctionName=NAME)
    after, log, _ = invoke(lab)
    assert (before["version"], after["version"]) == ("v1", "v2")
    assert after["pid"] != before["pid"] and "Init Duration" in log  # a new environment for new code
    now = lam.get_function(FunctionName=NAME)
    assert now["Configuration"]["RevisionId"] == updated["RevisionId"]
    assert deployed(now) == '"v2"'
    stale = web.get(first["Code"]["Location"])  # the old code's URL no longer gives code that is not deployed
    assert stale.status == 404 and b"NoSuchKey" in stale.body


def test_invoking_a_missing_function_is_resource_not_found(lab):
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function")


def test_lambda_s_payload_and_environment_limits(probe, lab):
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName=NAME, Payload=json.dumps({"pad": "x" * (7 * 1024 * 1024)}))
    payload, log, error = invoke(lab, {"big": 7 * 1024 * 1024})  # the function runs; its answer is too large
    assert error == "Unhandled" and payload["errorType"] == "Function.ResponseSizeTooLarge"
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="4KB"):
        lam.update_function_configuration(FunctionName=NAME, Environment={"Variables": {"BIG": "x" * 5000}})
    assert invoke(lab)[2] is None  # and the function is as it was


def test_last_modified_follows_updates_and_the_vpc_id_is_the_subnets(lab):
    import time

    from lab_helpers import baseline, lambda_fn, network

    baseline.ensure_baseline(lab)
    lam, name = lab.client("lambda"), lab.names.function
    before = lam.get_function_configuration(FunctionName=name)
    assert before["VpcConfig"]["VpcId"] == network.vpc_id(lab)
    time.sleep(0.01)  # deliberate: LastModified counts milliseconds, so the update falls in a later one
    lam.update_function_configuration(FunctionName=name, Description="touched by a test")
    lam.get_waiter("function_updated").wait(FunctionName=name)
    after = lam.get_function_configuration(FunctionName=name)
    assert after["LastModified"] > before["LastModified"] and after["RevisionId"] != before["RevisionId"]
    lam.update_function_configuration(FunctionName=name, Description="")
    assert lambda_fn.find_function(lab)["state"] == "Active"
