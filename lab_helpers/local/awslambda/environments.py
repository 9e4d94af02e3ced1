"""The local Lambda data plane: execution environments running the real runtime interface client.

Each execution environment is one long-lived `python -m awslambdaric <handler>` process in the
folder of the deployed code, polling its own Runtime API (runtime_api.py). As on AWS,
module-scope state survives warm invocations, a cold start happens when no idle environment
of the function's current configuration is left, concurrency means more environments, a
timeout or a crash discards the environment, and every invocation gets Lambda's START, END
and REPORT lines in the environment's log file (its log stream).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import logs, processes
from ..errors import LocalCloudError
from . import runtime_layer
from .function import FunctionVersion, InvokeResult, TooManyRequests
from .runtime_api import RuntimeAPI, lambda_environment

INIT_TIMEOUT = 10.0  # seconds Lambda allows the init phase
TAIL_BYTES = 4096  # LogType=Tail returns the last 4 KB of the invocation's log
STOP_GRACE = 0.5  # seconds between SIGTERM and SIGKILL when an environment is stopped
EXIT_CHECK = 0.05  # seconds between checks that a runtime process is still alive


@dataclass
class _Outcome:
    payload: bytes
    function_error: str | None
    duration_ms: float
    keep: bool = True  # whether the environment can serve another invocation
    log_lines: list[str] = field(default_factory=list)  # the platform's lines before END
    status: str = ""  # REPORT's status fields, e.g. "\tStatus: timeout"


class LambdaService:
    """Execution environments for every function: started on demand, reused while warm."""

    def __init__(self, state_dir: Path, runtime_env: dict[str, str], max_environments: int = 32):
        self._state_dir = Path(state_dir)
        runtime_dir = runtime_layer.build(self._state_dir / "runtime")  # boto3 and awslambdaric, nothing else
        self._runtime_env = {**runtime_env, "LAMBDA_RUNTIME_DIR": str(runtime_dir),
                             "PYTHONPATH": os.pathsep.join(p for p in (runtime_env.get("PYTHONPATH"),
                                                                       str(runtime_dir)) if p)}
        self._max_environments = max_environments
        self._envs: dict[str, ExecutionEnvironment] = {}
        self._lock = threading.Lock()  # guards _envs, _closed and each environment's busy/retired
        self._code_lock = threading.Lock()
        self._closed = False

    def invoke(self, fn: FunctionVersion, payload: bytes) -> InvokeResult:
        stale: list[ExecutionEnvironment] = []
        try:
            env = self._acquire(fn, stale)
        finally:
            _stop_all(stale)
        keep = False
        try:
            if env.proc is None:  # cold start
                env.spawn(fn, self._code_dir(fn), self._runtime_env)
            result, keep = env.invoke(fn, payload)
            return result
        finally:
            self._release(env, keep)

    def retire(self, name: str, keep_key: str | None = None) -> None:
        """Stop the function's environments (all, or those of another config_key than keep_key).
        Busy ones finish their invocation first (bounded by its timeout)."""
        with self._lock:
            idle = self._detach(name, keep_key)
        _stop_all(idle)

    def environments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": e.id, "function": e.function, "config_key": e.config_key, "pid": e.pid,
                     "state": "busy" if e.busy else "idle", "invocations": e.invocations,
                     "log_file": str(e.log_path)} for e in self._envs.values()]

    def shutdown(self) -> None:
        """Stop every environment (busy ones are killed) and its Runtime API."""
        with self._lock:
            self._closed = True
            envs = list(self._envs.values())
            self._envs.clear()
        _stop_all(envs)

    def _acquire(self, fn: FunctionVersion, stale: list[ExecutionEnvironment]) -> ExecutionEnvironment:
        """An idle environment of the function's current configuration, or a new one not yet
        started. Environments to stop go to `stale` (stopped by the caller, outside the lock)."""
        with self._lock:
            if self._closed:
                raise LocalCloudError("the local Lambda service has been shut down: start the local cloud again.")
            stale.extend(self._detach(fn.name, keep_key=fn.config_key))
            warm = [e for e in self._envs.values()
                    if e.function == fn.name and e.config_key == fn.config_key and not e.busy]
            for env in sorted(warm, key=lambda e: e.last_used, reverse=True):
                if env.alive():
                    env.busy = True
                    return env
                del self._envs[env.id]  # its process died while idle
                stale.append(env)
            if len(self._envs) >= self._max_environments:
                idle = [e for e in self._envs.values() if not e.busy]
                if not idle:
                    raise TooManyRequests("Rate Exceeded.")
                evicted = min(idle, key=lambda e: e.last_used)  # make room, as Lambda reclaims idle ones
                del self._envs[evicted.id]
                stale.append(evicted)
            env = ExecutionEnvironment(fn, self._state_dir / "logs")
            # the function's log streams: those of its newest environments are kept, as a retention period
            logs.prune(env.log_path.parent, busy={e.log_path for e in self._envs.values()})
            self._envs[env.id] = env
            return env

    def _detach(self, name: str, keep_key: str | None) -> list[ExecutionEnvironment]:
        """Under the lock: take the function's idle environments of other configurations out of
        service and return them; busy ones are marked to stop when their invocation ends."""
        idle = []
        for env in list(self._envs.values()):
            if env.function == name and (keep_key is None or env.config_key != keep_key):
                if env.busy:
                    env.retired = True
                else:
                    del self._envs[env.id]
                    idle.append(env)
        return idle

    def _release(self, env: ExecutionEnvironment, keep: bool) -> None:
        with self._lock:
            env.busy = False
            env.last_used = time.monotonic()
            if keep and not env.retired and self._envs.get(env.id) is env:
                return
            self._envs.pop(env.id, None)
        env.stop()

    def _code_dir(self, fn: FunctionVersion) -> Path:
        """The deployed zip, extracted once per content (its SHA-256) under state_dir/code."""
        target = self._state_dir / "code" / hashlib.sha256(fn.code_zip).hexdigest()
        with self._code_lock:
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                with zipfile.ZipFile(io.BytesIO(fn.code_zip)) as archive:
                    archive.extractall(tmp)
                tmp.rename(target)
            except zipfile.BadZipFile as e:
                raise LocalCloudError(f"the deployed code of function {fn.name} is not a valid zip file ({e}): "
                                      "deploy it again.") from e
            except OSError:
                if not target.is_dir():  # else another service sharing state_dir extracted it first
                    raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return target


class ExecutionEnvironment:
    """One execution environment: a runtime process, its Runtime API and its log stream.
    It serves one invocation at a time; the service's lock guards `busy` and `retired`."""

    def __init__(self, fn: FunctionVersion, logs_dir: Path):
        self.id = uuid.uuid4().hex
        self.function = fn.name
        self.config_key = fn.config_key
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{self.id}"
        self.log_path = logs_dir / re.sub(r"[^A-Za-z0-9_-]", "_", fn.name) / f"{self.id}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api: RuntimeAPI | None = None
        self.busy = True
        self.retired = False  # stop it when its invocation ends
        self.last_used = time.monotonic()
        self.invocations = 0
        self.init_ms: float | None = None
        self.peak_mb = 0
        self.memory_mb = fn.memory_size  # the function's memory size: past it, Lambda ends the environment
        self._spawned_at = 0.0
        self._stopped = False
        self._lock = threading.Lock()  # orders spawn() and stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, fn: FunctionVersion, task_root: Path, runtime_env: dict[str, str]) -> None:
        with self._lock:
            if self._stopped:
                raise LocalCloudError("the local Lambda service is shutting down: invoke again once it runs.")
            self.api = RuntimeAPI(fn.arn)
            env = lambda_environment(fn, task_root, self.api.address, self.log_stream, runtime_env)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.memory_mb = fn.memory_size
            self._log(init_start_line(fn.runtime))
            with open(self.log_path, "ab") as log:
                self._spawned_at = time.perf_counter()
                # Its own session, so that stopping it also stops whatever the handler started.
                self.proc = subprocess.Popen(
                    runtime_layer.command(fn.handler), cwd=task_root, env=env,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def invoke(self, fn: FunctionVersion, payload: bytes) -> tuple[InvokeResult, bool]:
        """Run one invocation; also says whether the environment can serve another one."""
        request_id = str(uuid.uuid4())
        cold = self.invocations == 0
        log_from = 0 if cold else self.log_path.stat().st_size  # a cold start's tail shows the init output too
        self.invocations += 1
        if cold:
            failure = self._await_init(fn, request_id)
            if failure:
                return self._finish(fn, request_id, failure, log_from, cold), False
        self._log(f"START RequestId: {request_id} Version: $LATEST")
        proc, api = self._spawned()
        submitted_at = time.perf_counter()
        invocation = api.submit(request_id, payload, fn.timeout)
        # The function's timeout runs from the moment the runtime receives the event.
        ended = self._wait(invocation.done, lambda: (invocation.handed_out_at or submitted_at) + fn.timeout)
        if ended == "done" and not self._out_of_memory(invocation.body if invocation.outcome == "error" else None):
            duration = ((invocation.finished_at or submitted_at) - (invocation.handed_out_at or submitted_at)) * 1000
            error = "Unhandled" if invocation.outcome == "error" else None
            outcome = _Outcome(invocation.body, error, duration)
        elif ended in ("done", "oom"):  # Lambda ends an environment whose memory went past its size
            self.stop(grace=0)
            outcome = _out_of_memory(request_id, _ms_since(invocation.handed_out_at))
            self.peak_mb = max(self.peak_mb, self.memory_mb)
        elif ended == "timeout":
            self.stop(grace=0)  # Lambda discards the whole environment
            outcome = _timed_out(request_id, fn.timeout, _ms_since(invocation.handed_out_at))
        else:
            outcome = _exited(request_id, proc.returncode, _ms_since(invocation.handed_out_at))
        return self._finish(fn, request_id, outcome, log_from, cold), outcome.keep

    def _spawned(self) -> tuple[subprocess.Popen[bytes], RuntimeAPI]:
        """Its runtime process and Runtime API, which spawn() starts before any invocation."""
        if self.proc is None or self.api is None:
            raise LocalCloudError(f"the execution environment {self.id} of {self.function} was not started")
        return self.proc, self.api

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop the runtime process and everything it started, then the Runtime API (once)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self.proc is not None:
                processes.terminate(self.proc, grace, group=True)
            if self.api is not None:
                self.api.close()

    def _await_init(self, fn: FunctionVersion, request_id: str) -> _Outcome | None:
        """Wait for the end of the init phase (the first poll for an event); None if it succeeded.
        Lambda allows 10 s of init, then retries init within the invocation's own timeout."""
        proc, api = self._spawned()
        ended = self._wait(api.init_done, lambda: self._spawned_at + INIT_TIMEOUT + fn.timeout)
        init_error = api.init_error
        if ended == "done" and init_error is None and not self._out_of_memory(None):
            self.init_ms = ((api.first_poll_at or self._spawned_at) - self._spawned_at) * 1000  # set with init_done
            return None
        init_ms = _ms_since(self._spawned_at)
        if ended == "oom" or (ended == "done" and self._out_of_memory(init_error)):
            self.stop(grace=0)
            outcome = _out_of_memory(request_id, init_ms)
            self.peak_mb = max(self.peak_mb, self.memory_mb)
        elif ended == "done" and init_error is not None:  # the runtime reported the error (and exits): pass it on
            error_type = _error_type(init_error)
            outcome = _Outcome(init_error, "Unhandled", init_ms, keep=False,
                               status=f"\tStatus: error\tError Type: {error_type}")
        elif ended == "timeout":  # init used its 10 s, then the invocation's own timeout
            self.stop(grace=0)
            init_ms = INIT_TIMEOUT * 1000
            outcome = _timed_out(request_id, fn.timeout, _ms_since(self._spawned_at + INIT_TIMEOUT))
        else:
            outcome = _exited(request_id, proc.returncode, init_ms)
        self._log(f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init{outcome.status}",
                  f"START RequestId: {request_id} Version: $LATEST")
        return outcome

    def _wait(self, event: threading.Event, deadline: Callable[[], float]) -> str:
        """'done' once the event is set, 'oom' when the runtime's memory goes past the function's memory
        size first, 'exited' if the runtime dies first, else 'timeout'."""
        while not event.wait(max(0.0, min(EXIT_CHECK, deadline() - time.perf_counter()))):
            self._measure_memory()
            if self.peak_mb > self.memory_mb:
                return "oom"
            if self._spawned()[0].poll() is not None:
                return "done" if event.is_set() else "exited"
            if time.perf_counter() >= deadline():
                return "timeout"
        self._measure_memory()
        return "done"

    def _out_of_memory(self, error: bytes | None) -> bool:
        """Whether the runtime's peak resident memory went past the memory size (the platform would have
        ended it), or an allocation was refused under the environment's limit (a MemoryError)."""
        return self.peak_mb > self.memory_mb or (error is not None and _error_type(error) == "MemoryError")

    def _measure_memory(self) -> None:
        """Max Memory Used: the process's peak resident set (VmHWM), in MB rounded up."""
        try:
            peak = processes.status(self._spawned()[0].pid).get("VmHWM")
        except OSError:
            return  # the process is gone: keep the last reading
        if peak:
            self.peak_mb = max(self.peak_mb, math.ceil(int(peak.split()[0]) / 1024))

    def _finish(self, fn: FunctionVersion, request_id: str, outcome: _Outcome, log_from: int,
                cold: bool) -> InvokeResult:
        duration = outcome.duration_ms
        billed = min(max(1, math.ceil(duration)), math.ceil(fn.timeout * 1000))
        init_ms = self.init_ms if cold else None
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms"
                  f"\tMemory Size: {fn.memory_size} MB\tMax Memory Used: {self.peak_mb} MB")
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        self._log(*outcome.log_lines, f"END RequestId: {request_id}", report + outcome.status)
        tail = self._tail(log_from)
        logs.trim(self.log_path)  # a long-lived environment's stream keeps its newest lines
        return InvokeResult(
            payload=outcome.payload, function_error=outcome.function_error, log_tail=tail,
            request_id=request_id, duration_ms=round(duration, 2), billed_duration_ms=billed,
            max_memory_used_mb=self.peak_mb, init_duration_ms=init_ms, environment_id=self.id)

    def _log(self, *lines: str) -> None:
        """Append the platform's lines to the log stream, after whatever the function wrote."""
        with open(self.log_path, "ab") as log:
            log.write("".join(line + "\n" for line in lines).encode())

    def _tail(self, start: int) -> str:
        with open(self.log_path, "rb") as log:
            end = log.seek(0, os.SEEK_END)
            log.seek(max(start, end - TAIL_BYTES))
            return log.read().decode("utf-8", errors="replace")


def _timed_out(request_id: str, timeout: float, duration_ms: float) -> _Outcome:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    what = f"Task timed out after {timeout:.2f} seconds"
    return _Outcome(_error_payload("Sandbox.Timedout", f"RequestId: {request_id} Error: {what}"), "Unhandled",
                    duration_ms, keep=False, log_lines=[f"{now} {request_id} {what}"], status="\tStatus: timeout")


def _exited(request_id: str, returncode: int, duration_ms: float) -> _Outcome:
    """The runtime process ended without answering; Lambda words its end as Go does."""
    how = f"exit status {returncode}" if returncode >= 0 else \
        f"signal: {(signal.strsignal(-returncode) or str(-returncode)).lower()}"
    message = f"RequestId: {request_id} Error: Runtime exited with error: {how}"
    return _Outcome(_error_payload("Runtime.ExitError", message), "Unhandled", duration_ms, keep=False,
                    log_lines=[message, "Runtime.ExitError"], status="\tStatus: error\tError Type: Runtime.ExitError")


def _out_of_memory(request_id: str, duration_ms: float) -> _Outcome:
    """The environment went past its memory size: Lambda ends it (SIGKILL) and says so."""
    message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
    return _Outcome(_error_payload("Runtime.OutOfMemory", message), "Unhandled", duration_ms, keep=False,
                    log_lines=[message], status="\tStatus: error\tError Type: Runtime.OutOfMemory")


def init_start_line(runtime: str) -> str:
    """Lambda's first line of an environment's log stream, with the Python that really runs the function
    when it is not the runtime's declared one."""
    local = runtime_layer.interpreter_version()
    declared = runtime.removeprefix("python")
    if local.startswith(declared + "."):
        return f"INIT_START Runtime Version: python:{local}.local"
    return (f"INIT_START Runtime Version: python:{local}.local\t(the function declares {runtime}; "
            f"this machine's Python {local} runs it)")


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _error_type(payload: bytes) -> str:
    try:
        return str(json.loads(payload)["errorType"])
    except (ValueError, KeyError, TypeError):
        return "Runtime.Unknown"


def _ms_since(start: float | None) -> float:
    return (time.perf_counter() - start) * 1000 if start is not None else 0.0


def _stop_all(envs: list[ExecutionEnvironment]) -> None:
    for env in envs:
        env.stop()
