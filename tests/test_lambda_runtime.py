"""The local Lambda data plane: real awslambdaric execution environments behind LambdaService."""
from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lab_helpers.local.awslambda import FunctionVersion, LambdaService, TooManyRequests, environments
from tests.polling import wait_until

RUNTIME_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "PYTHONPATH": "/opt/lab-extra",
}
REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(\tInit Duration: (?P<init>\d+\.\d{2}) ms)?(?P<status>\tStatus: .*)?$", re.M)

COUNTER = '''
import os, time
count = 0

def lambda_handler(event, context):
    global count
    count += 1
    print("handler says hello", count)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("requested failure")
    if event.get("exit") is not None:
        os._exit(event["exit"])
    return {"count": count, "pid": os.getpid(), "version": "v1"}
'''


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def function(code: str, key: str = "k1", name: str = "fn", timeout: float = 3.0,
             environment: dict[str, str] | None = None, memory_size: int = 128) -> FunctionVersion:
    return FunctionVersion(
        name=name, arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}", code_sha256=key,
        code_zip=zip_of({"lambda_function.py": code}), handler="lambda_function.lambda_handler",
        runtime="python3.12", timeout=timeout, memory_size=memory_size, environment=environment or {},
        config_key=key)


def call(service: LambdaService, fn: FunctionVersion, event: dict | None = None):
    result = service.invoke(fn, json.dumps(event or {}).encode())
    return result, json.loads(result.payload)


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def service(tmp_path):
    svc = LambdaService(tmp_path, RUNTIME_ENV)
    yield svc
    svc.shutdown()


def test_warm_invocations_reuse_the_environment_and_its_module_state(service):
    """Data plane level: module state, one process, Init Duration on the first call only, the environment listed;
    the lesson's tests/integration/test_lab_end_to_end.py test_warm_invocations_reuse_the_environment covers the
    cloud routing each Invoke of one function version to that same environment."""
    fn = function(COUNTER)
    results = [call(service, fn) for _ in range(3)]
    assert [body["count"] for _, body in results] == [1, 2, 3]
    assert len({body["pid"] for _, body in results}) == 1
    assert len({r.environment_id for r, _ in results}) == 1
    assert results[0][0].init_duration_ms > 0
    assert [r.init_duration_ms for r, _ in results[1:]] == [None, None]
    [env] = service.environments()
    assert (env["pid"], env["state"], env["invocations"]) == (results[0][1]["pid"], "idle", 3)


def test_duration_is_the_time_the_handler_ran(service):
    """Duration (REPORT and InvokeResult alike) covers the handler's run: sleeping 0.5 s reports at
    least 500 ms, and 400 ms more than the same warm handler without the sleep. Tested at this level only:
    test_lab_end_to_end's warm invocations check that the REPORT line reaches Invoke's LogResult."""
    fn = function(COUNTER)
    call(service, fn)
    quick, _ = call(service, fn)
    slow, _ = call(service, fn, {"sleep": 0.5})
    report = REPORT_RE.search(slow.log_tail)
    assert float(report["duration"]) == slow.duration_ms >= 500
    assert slow.duration_ms - quick.duration_ms >= 400
    assert int(report["billed"]) == slow.billed_duration_ms == math.ceil(slow.duration_ms)


def test_a_new_config_key_runs_the_new_code_in_a_new_environment(service):
    """Data plane level: the old environment's process stopped and only the new one listed; the integration test
    test_new_code_from_update_function_code_is_what_runs_next covers UpdateFunctionCode giving a new config key."""
    old, old_body = call(service, function(COUNTER, key="k1"))
    new, new_body = call(service, function(COUNTER.replace('"v1"', '"v2"'), key="k2"))
    assert (old_body["version"], new_body["version"]) == ("v1", "v2")
    assert new.environment_id != old.environment_id and new_body["count"] == 1
    assert not running(old_body["pid"])
    assert [e["config_key"] for e in service.environments()] == ["k2"]


def test_timeout_kills_the_environment_and_the_next_invocation_starts_fresh(service):
    """Data plane level: the error, Duration, REPORT status, the process killed and a fresh one next; the function's
    Timeout set through the Lambda API is covered by tests/integration/test_handler_failures.py (a VPC function
    without a path to Secrets Manager ends in Sandbox.Timedout)."""
    fn = function(COUNTER, timeout=1)
    first, first_body = call(service, fn)
    result, body = call(service, fn, {"sleep": 5})
    assert body == {"errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"}
    assert result.function_error == "Unhandled"
    assert 1000 <= result.duration_ms < 1500 and result.billed_duration_ms == 1000
    assert "Task timed out after 1.00 seconds" in result.log_tail
    assert REPORT_RE.search(result.log_tail)["status"] == "\tStatus: timeout"
    assert not running(first_body["pid"])
    after, after_body = call(service, fn)
    assert after_body["count"] == 1 and after_body["pid"] != first_body["pid"]
    assert after.environment_id != first.environment_id and after.init_duration_ms is not None


def test_handler_exception_returns_lambdas_error_and_keeps_the_environment(service):
    fn = function(COUNTER)
    result, body = call(service, fn, {"fail": True})
    assert result.function_error == "Unhandled"
    assert (body["errorType"], body["errorMessage"], body["requestId"]) == \
        ("ValueError", "requested failure", result.request_id)
    assert any('raise ValueError("requested failure")' in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: requested failure" in result.log_tail
    again, again_body = call(service, fn)
    assert again.function_error is None and again_body["count"] == 2
    assert again.environment_id == result.environment_id


@pytest.mark.parametrize("code, error_type, message", [
    ("import no_such_module\n", "Runtime.ImportModuleError",
     "Unable to import module 'lambda_function': No module named 'no_such_module'"),
    ("def lambda_handler(event, context)\n    return 1\n", "Runtime.UserCodeSyntaxError",
     "Syntax error in module 'lambda_function'"),
])
def test_init_error_is_reported_and_the_fixed_code_gets_a_fresh_environment(service, code, error_type, message):
    broken = function(code, key="broken")
    result, body = call(service, broken)
    assert result.function_error == "Unhandled"
    assert body["errorType"] == error_type and body["errorMessage"].startswith(message)
    init_report = rf"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: {error_type}$"
    assert re.search(init_report, result.log_tail, re.M)
    assert service.environments() == []  # discarded
    retry, _ = call(service, broken)  # Lambda runs init again in a new environment
    assert retry.environment_id != result.environment_id and retry.function_error == "Unhandled"
    fixed, fixed_body = call(service, function(COUNTER, key="fixed"))
    assert fixed.function_error is None and fixed_body["count"] == 1 and fixed.init_duration_ms is not None


def test_init_past_its_time_limit_is_a_timeout(service, monkeypatch):
    monkeypatch.setattr(environments, "INIT_TIMEOUT", 0.3)  # Lambda's is 10 s
    result, body = call(service, function("import time\ntime.sleep(30)\n", timeout=0.3))
    assert body == {"errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 0.30 seconds"}
    assert "INIT_REPORT Init Duration: 300.00 ms\tPhase: init\tStatus: timeout" in result.log_tail
    assert service.environments() == []


def test_runtime_exit_mid_invocation_is_an_exit_error(service):
    fn = function(COUNTER)
    result, body = call(service, fn, {"exit": 3})
    assert body == {"errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3"}
    assert result.function_error == "Unhandled"
    assert service.environments() == []
    assert call(service, fn)[1]["count"] == 1


def test_concurrent_invocations_get_separate_environments(service):
    fn = function(COUNTER)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: call(service, fn, {"sleep": 0.5}), range(4)))
    assert len({r.environment_id for r, _ in results}) == 4
    assert len({body["pid"] for _, body in results}) == 4
    assert [body["count"] for _, body in results] == [1, 1, 1, 1]
    assert sorted(e["state"] for e in service.environments()) == ["idle"] * 4


def test_beyond_the_environment_cap_invocations_are_throttled(tmp_path):
    service = LambdaService(tmp_path, RUNTIME_ENV, max_environments=2)
    try:
        fn = function(COUNTER)
        with ThreadPoolExecutor(2) as pool:
            busy = [pool.submit(call, service, fn, {"sleep": 1}) for _ in range(2)]
            wait_until(lambda: len(service.environments()) == 2)
            with pytest.raises(TooManyRequests):
                service.invoke(fn, b"{}")
            assert [f.result()[0].function_error for f in busy] == [None, None]
        assert call(service, fn)[1]["count"] == 2  # a warm one serves it once they are free
    finally:
        service.shutdown()


def test_log_tail_has_the_handlers_output_between_lambdas_lines(service, tmp_path):
    fn = function(COUNTER)
    cold, _ = call(service, fn)
    warm, _ = call(service, fn)
    for result, count in ((cold, 1), (warm, 2)):
        rid = result.request_id
        lines = result.log_tail.splitlines()
        if result is cold:  # a cold start's stream begins with the runtime it runs on
            assert lines.pop(0).startswith("INIT_START Runtime Version: python:")
        assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
        assert f"handler says hello {count}" in lines
        assert lines[-2] == f"END RequestId: {rid}"
        report = REPORT_RE.fullmatch(lines[-1])
        assert report and report["id"] == rid and report["memory"] == "128" and report["status"] is None
        assert int(report["used"]) == result.max_memory_used_mb > 0
        assert int(report["billed"]) == result.billed_duration_ms == max(1, math.ceil(float(report["duration"])))
    assert float(REPORT_RE.search(cold.log_tail)["init"]) == pytest.approx(cold.init_duration_ms, abs=0.01)
    assert REPORT_RE.search(warm.log_tail)["init"] is None
    log_file = tmp_path / "logs" / "fn" / f"{cold.environment_id}.log"
    assert log_file.read_text().count("REPORT RequestId: ") == 2  # the environment's log stream


def test_environment_variables_are_lambdas(service, monkeypatch):
    """Data plane level: what the handler's process sees (cwd, PYTHONPATH, the context, nothing of the parent's
    environment); tests/unit/test_runtime_api.py's environment test covers what this service cannot show, the
    execution role's keys and the function's own region over the function's variables."""
    monkeypatch.setenv("PARENT_ONLY_VARIABLE", "must not leak")
    code = '''
import os, sys
def lambda_handler(event, context):
    return {"env": dict(os.environ), "cwd": os.getcwd(), "arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis()}
'''
    fn = function(code, environment={"DB_HOST": "proxy.local", "AWS_REGION": "eu-west-1", "_HANDLER": "x.y"})
    result, body = call(service, fn)
    env = body["env"]
    root = env["LAMBDA_TASK_ROOT"]
    assert body["cwd"] == root and (Path(root) / "lambda_function.py").is_file()
    # the deployment package, then the runtime's own packages (boto3, awslambdaric): nothing of the host's
    assert env["PYTHONPATH"].split(os.pathsep) == [root, "/opt/lab-extra", env["LAMBDA_RUNTIME_DIR"]]
    assert env["DB_HOST"] == "proxy.local"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"  # reserved: not overridable
    assert env["_HANDLER"] == "lambda_function.lambda_handler"
    assert {k: env[k] for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
                                "AWS_EXECUTION_ENV", "TZ", "PYTHONUNBUFFERED", "AWS_ENDPOINT_URL",
                                "AWS_ACCESS_KEY_ID")} == {
        "AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "TZ": ":UTC", "PYTHONUNBUFFERED": "1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ACCESS_KEY_ID": "testing"}
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].endswith(result.environment_id)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert env["LANG"] and env["PATH"]
    assert "PARENT_ONLY_VARIABLE" not in env
    assert body["arn"] == fn.arn and 0 < body["remaining_ms"] <= 3000


def test_retire_stops_environments_of_other_configurations(service):
    fn = function(COUNTER, key="k1")
    _, old = call(service, fn)
    service.retire("fn", keep_key="k1")
    service.retire("another-function")
    assert [e["pid"] for e in service.environments()] == [old["pid"]]
    service.retire("fn", keep_key="k2")
    assert service.environments() == [] and not running(old["pid"])
    with ThreadPoolExecutor(1) as pool:  # a busy environment finishes its invocation first
        busy = pool.submit(call, service, fn, {"sleep": 0.5})
        wait_until(lambda: [e["pid"] for e in service.environments() if e["pid"]])
        service.retire("fn")
        result, body = busy.result()
    assert result.function_error is None and body["count"] == 1
    assert service.environments() == [] and not running(body["pid"])


def test_shutdown_leaves_no_process_behind(tmp_path):
    service = LambdaService(tmp_path, RUNTIME_ENV)
    code = '''
import os, subprocess
child = subprocess.Popen(["sleep", "60"])
def lambda_handler(event, context):
    return {"pid": os.getpid(), "child": child.pid}
'''
    fn = function(code, timeout=10)
    _, body = call(service, fn)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(call, service, function(COUNTER, name="other"), {"sleep": 5})
        [busy_pid] = wait_until(lambda: [e["pid"] for e in service.environments()
                                        if e["function"] == "other" and e["pid"]])
        service.shutdown()
        assert busy.result()[1]["errorType"] == "Runtime.ExitError"  # killed mid-invocation
    assert service.environments() == []
    for pid in (body["pid"], busy_pid):
        assert not Path(f"/proc/{pid}").exists()  # stopped and reaped: no zombie
    assert not running(body["child"])  # what the handler started went with it
    assert not [t for t in threading.enumerate() if t.name.startswith("lambda-runtime-api")]


# -- the managed runtime's Python environment, and its memory size ------------------------------------

def test_the_function_sees_its_package_the_runtime_s_sdk_and_nothing_else(service):
    code = '''
import importlib.util, sys
def lambda_handler(event, context):
    import boto3, botocore
    return {"found": {name: importlib.util.find_spec(name) is not None
                      for name in ("boto3", "botocore", "awslambdaric", "moto", "pymysql", "lab_helpers", "pytest")},
            "site_packages": [p for p in sys.path if "site-packages" in p], "boto3": boto3.__version__}
'''
    result, body = call(service, function(code))
    assert result.function_error is None, body
    assert body["found"] == {"boto3": True, "botocore": True, "awslambdaric": True, "moto": False,
                             "pymysql": False, "lab_helpers": False, "pytest": False}
    assert body["site_packages"] == []
    import boto3

    assert body["boto3"] == boto3.__version__  # the runtime's own SDK


def test_a_dependency_missing_from_the_zip_fails_with_runtime_import_module_error(service):
    result, body = call(service, function("import pymysql\ndef lambda_handler(event, context):\n    return 1\n"))
    assert result.function_error == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'lambda_function': No module named 'pymysql'"
    assert "Error Type: Runtime.ImportModuleError" in result.log_tail


def test_the_declared_runtime_and_the_python_that_runs_it_are_both_in_the_log(service):
    result, _ = call(service, function(COUNTER))
    first = result.log_tail.splitlines()[0]
    here = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    assert first.startswith(f"INIT_START Runtime Version: python:{here}.local")
    if not here.startswith("3.12."):
        assert f"the function declares python3.12; this machine's Python {here} runs it" in first


@pytest.mark.parametrize("phase", ["handler", "init"])
def test_memory_past_the_function_s_size_ends_with_lambda_s_out_of_memory_error(service, phase):
    grab = "held = b'x' * (200 * 1024 * 1024)  # 200 MB, every page written"
    code = (f"{grab}\ndef lambda_handler(event, context):\n    return 1\n" if phase == "init" else
            f"def lambda_handler(event, context):\n    {grab}\n    return len(held)\n")
    fn = function(code, memory_size=128)
    result, body = call(service, fn)
    assert result.function_error == "Unhandled"
    assert body == {"errorType": "Runtime.OutOfMemory",
                    "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"}
    report = REPORT_RE.search(result.log_tail)
    assert report["status"] == "\tStatus: error\tError Type: Runtime.OutOfMemory"
    assert int(report["used"]) >= 128
    assert service.environments() == []  # the environment is gone; the next call starts a new one
    # the same code with room for it works
    roomy = function(code, key="k2", memory_size=512)
    result, body = call(service, roomy)
    assert result.function_error is None and (body == 1 or body == 200 * 1024 * 1024)


TRACE_ENV = environments.runtime_layer.BOOTSTRAP.with_name("trace_env.py")
TRACE = '''
import ctypes, os
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
def lambda_handler(event, context):
    return {"python": os.environ.get("_X_AMZN_TRACE_ID"), "c": libc.getenv(b"_X_AMZN_TRACE_ID").decode()}
'''


def test_each_invocation_s_trace_header_is_in_os_environ_and_the_c_environment(service):
    fn = function(TRACE)
    seen = [call(service, fn)[1] for _ in range(2)]
    for body in seen:
        assert body["python"] == body["c"] and body["python"].startswith("Root=1-")
    assert seen[0]["python"] != seen[1]["python"]


def test_setting_the_trace_header_keeps_no_old_value_where_os_environ_would():
    """glibc's setenv keeps every value it was given (~100 bytes an invocation); trace_env's putenv does not."""
    script = f'''
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("trace_env", {str(TRACE_ENV)!r})
trace_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trace_env)
def rss_kb():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1])
def grows(set_value):
    before = rss_kb()
    for i in range(30000):
        set_value(f"Root=1-00000000-{{i:024x}};Sampled=0")
    return rss_kb() - before
print(grows(trace_env.set_trace_id), grows(lambda v: os.environ.__setitem__("_X_AMZN_TRACE_ID", v)))
'''
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    with_putenv, with_setenv = map(int, out)
    assert with_setenv > 1500  # kB: the C library kept 30,000 values
    assert with_putenv < 300
