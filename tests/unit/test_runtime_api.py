"""The local Lambda Runtime API (lab_helpers/local/awslambda/runtime_api.py), spoken to over HTTP as the runtime
interface client speaks to Lambda's (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).

The Lambda tests (tests/test_lambda_runtime.py, tests/integration/test_lambda_local.py) run real awslambdaric
processes against it; these pin down each path and answer of the API itself, and an environment's variables.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab_helpers.local.awslambda.function import FunctionVersion
from lab_helpers.local.awslambda.runtime_api import PREFIX, RuntimeAPI, lambda_environment
from tests.polling import wait_until

ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:fn"


@pytest.fixture
def api():
    server = RuntimeAPI(ARN)
    yield server
    server.close()


def _call(api: RuntimeAPI, method: str, path: str, body: bytes | None = None):
    request = urllib.request.Request(f"http://{api.address}{PREFIX}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_an_event_goes_out_with_lambdas_headers_and_its_response_comes_back(api):
    invocation = api.submit("req-1", b'{"path": "/"}', timeout=3.0)
    before = time.time()
    status, headers, body = _call(api, "GET", "/invocation/next")
    assert (status, body) == (200, b'{"path": "/"}')
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    deadline_s = int(headers["Lambda-Runtime-Deadline-Ms"]) / 1000
    assert before + 2.0 < deadline_s < time.time() + 3.0 + 1.0  # now + the function's timeout, in ms
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert api.init_done.is_set() and api.first_poll_at is not None  # the first poll ends the init phase
    assert _call(api, "POST", "/invocation/req-1/response", b'{"ok": 1}')[:1] == (202,)
    assert invocation.done.wait(5) and (invocation.outcome, invocation.body) == ("response", b'{"ok": 1}')
    assert invocation.finished_at >= invocation.handed_out_at


def test_an_error_is_recorded_as_the_invocations_error(api):
    invocation = api.submit("req-2", b"{}", timeout=3.0)
    _call(api, "GET", "/invocation/next")
    error = json.dumps({"errorType": "KeyError", "errorMessage": "'x'"}).encode()
    assert _call(api, "POST", "/invocation/req-2/error", error)[0] == 202
    assert (invocation.outcome, json.loads(invocation.body)["errorType"]) == ("error", "KeyError")


def test_an_answer_for_no_invocation_in_flight_is_refused(api):
    status, _, body = _call(api, "POST", "/invocation/nobody/response", b"{}")
    assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
    api.submit("req-3", b"{}", timeout=3.0)
    _call(api, "GET", "/invocation/next")
    assert _call(api, "POST", "/invocation/req-3/response", b"1")[0] == 202
    assert _call(api, "POST", "/invocation/req-3/response", b"2")[0] == 400  # answered once only


def test_an_init_error_is_kept_for_the_invoke(api):
    body = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'x'"}).encode()
    assert _call(api, "POST", "/init/error", body)[0] == 202
    assert api.init_done.is_set() and json.loads(api.init_error)["errorType"] == "Runtime.ImportModuleError"


def test_unknown_paths_get_404(api):
    assert _call(api, "GET", "/invocation/other")[0] == 404
    assert _call(api, "POST", "/invocation/x/elsewhere", b"")[0] == 404


def test_close_releases_a_waiting_long_poll():
    api = RuntimeAPI(ARN)
    answers = []
    poll = threading.Thread(target=lambda: answers.append(_call(api, "GET", "/invocation/next")))
    poll.start()
    wait_until(lambda: api.first_poll_at is not None)  # the runtime is waiting for its next event
    api.close()
    poll.join(10)
    assert answers and answers[0][0] == 410 and json.loads(answers[0][2])["errorType"] == "Gone"


def test_the_environment_has_lambdas_variables_and_the_functions_cannot_override_them(tmp_path):
    """Unit level: the role's keys and the function's region win over its variables (the data plane test runs with
    one fixed environment and no role); tests/test_lambda_runtime.py's test_environment_variables_are_lambdas
    covers what the running handler actually sees."""
    fn = FunctionVersion("fn", ARN, "sha", b"", "app.handler", "python3.12", 3.0, 128,
                         {"DB_HOST": "proxy.example", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "mine",
                          "PYTHONPATH": "/opt/extra"}, "k", {"AWS_ACCESS_KEY_ID": "ASIAROLE"}, "ap-northeast-2")
    env = lambda_environment(fn, Path(tmp_path), "127.0.0.1:9001", "2026/12/04/[$LATEST]abc",
                             {"HOME": "/tmp"})
    assert env["DB_HOST"] == "proxy.example" and env["HOME"] == "/tmp"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "ap-northeast-2"  # the function's region
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAROLE"  # the execution role's, not the function's variable
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001" and env["_HANDLER"] == "app.handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["PYTHONPATH"].split(":")[:2] == [str(tmp_path), "/opt/extra"]
    assert "VIRTUAL_ENV" not in env and "PYTEST_CURRENT_TEST" not in env  # nothing of this process leaks in
