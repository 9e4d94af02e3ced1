"""What the runtime inside an execution environment sees of the platform: its variables, and
its Runtime API, served on 127.0.0.1 (a port of its own).

The runtime interface client (awslambdaric) talks to that API exactly as to Lambda's own:
  GET  /2018-06-01/runtime/invocation/next              long poll: the next event
  POST /2018-06-01/runtime/invocation/{id}/response     the handler's result
  POST /2018-06-01/runtime/invocation/{id}/error        the handler's exception
  POST /2018-06-01/runtime/init/error                   the handler module failed to load
"""
from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .function import FunctionVersion

PREFIX = "/2018-06-01/runtime"
ACCEPTED = b'{"status":"OK"}'

# Variables that Lambda sets itself: a function's configuration cannot override them.
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})


def lambda_environment(fn: FunctionVersion, task_root: Path, runtime_api: str, log_stream: str,
                       runtime_env: dict[str, str]) -> dict[str, str]:
    """An execution environment's variables: Lambda's defaults, the service's runtime_env, the
    function's own, and Lambda's reserved ones last. Nothing else of this process leaks in."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "en_US.UTF-8", "TZ": ":UTC", "PYTHONUNBUFFERED": "1"}
    env.update(runtime_env)
    env.update({k: v for k, v in fn.environment.items() if k not in RESERVED})
    if fn.region:  # the function's own region, as on AWS
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = fn.region
    elif "AWS_REGION" in env:
        env.setdefault("AWS_DEFAULT_REGION", env["AWS_REGION"])
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": fn.handler,
        **fn.credentials,
    })
    paths = (str(task_root), fn.environment.get("PYTHONPATH"), runtime_env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


@dataclass(eq=False)
class Invocation:
    """One event on its way through the runtime; the API records what comes back."""
    request_id: str
    event: bytes
    timeout: float
    handed_out_at: float | None = None  # time.perf_counter() when the runtime received the event
    finished_at: float | None = None
    outcome: str | None = None  # "response" or "error"
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)


class RuntimeAPI:
    """An HTTP server for the one runtime process of an execution environment."""

    def __init__(self, function_arn: str):
        self.function_arn = function_arn
        self.first_poll_at: float | None = None  # the end of the init phase
        self.init_error: bytes | None = None
        self.init_done = threading.Event()  # set on the first poll or on an init error
        self._events: queue.Queue[Invocation | None] = queue.Queue()
        self._inflight: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._serve, name=f"lambda-runtime-api-{self.address}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._host_port()
        return f"{host}:{port}"

    def _host_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)  # (an IPv4 server: a str and an int)

    def submit(self, request_id: str, event: bytes, timeout: float) -> Invocation:
        invocation = Invocation(request_id, event, timeout)
        self._events.put(invocation)
        return invocation

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._events.put(None)  # release a long poll that is still waiting
        with contextlib.suppress(OSError):  # wake the accept loop so that it sees _closing
            socket.create_connection(self._host_port(), timeout=1).close()
        self._thread.join()
        self._server.server_close()

    def _serve(self) -> None:
        # One request at a time, blocking without a poll interval (serve_forever would make
        # close() wait up to 0.5 s); close() wakes it with a connection of its own.
        while not self._closing:
            self._server.handle_request()

    # -- called by the request handler --------------------------------------------------------
    def next_event(self) -> Invocation | None:
        with self._lock:
            if self.first_poll_at is None:
                self.first_poll_at = time.perf_counter()
                self.init_done.set()
        invocation = self._events.get()
        if invocation is not None:
            with self._lock:
                invocation.handed_out_at = time.perf_counter()
                self._inflight[invocation.request_id] = invocation
        return invocation

    def finish(self, request_id: str, outcome: str, body: bytes) -> bool:
        with self._lock:
            invocation = self._inflight.pop(request_id, None)
        if invocation is None:
            return False
        invocation.finished_at = time.perf_counter()
        invocation.outcome, invocation.body = outcome, body
        invocation.done.set()
        return True

    def report_init_error(self, body: bytes) -> None:
        self.init_error = body
        self.init_done.set()


class _Server(ThreadingHTTPServer):
    api: RuntimeAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a killed runtime just hangs up: not news
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add 40-80 ms to every warm invocation

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the environment's log is the function's, not the server's

    def _api(self) -> RuntimeAPI:
        assert isinstance(self.server, _Server)  # the only server this handler is given
        return self.server.api

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404, _error("InvalidRequest", f"unknown path {self.path}"))
        api = self._api()
        invocation = api.next_event()
        if invocation is None:  # the environment is being stopped
            return self._reply(410, _error("Gone", "the execution environment is shutting down"))
        now = time.time()
        self._reply(200, invocation.event, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((now + invocation.timeout) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self) -> None:
        api = self._api()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == f"{PREFIX}/init/error":
            api.report_init_error(body)
            return self._reply(202, ACCEPTED)
        parts = self.path.split("/")  # ['', '2018-06-01', 'runtime', 'invocation', id, outcome]
        if len(parts) == 6 and self.path.startswith(f"{PREFIX}/invocation/") and parts[5] in ("response", "error"):
            if api.finish(parts[4], parts[5], body):
                return self._reply(202, ACCEPTED)
            return self._reply(400, _error("InvalidRequestID", f"no invocation in flight with id {parts[4]}"))
        self._reply(404, _error("InvalidRequest", f"unknown path {self.path}"))

    def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
