"""The endpoint's bounds: malformed requests get 400 with no traceback, a half-sent request is dropped
after the request timeout, and connections past the limit are refused at once instead of each taking
a thread forever."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from lab_helpers.local.faults import Faults
from lab_helpers.local.gateway import EndpointServer, Gateway, NoDelayRequestHandler
from lab_helpers.local.ports import free_port
from lab_helpers.local.state import HEALTH_PATH
from tests.polling import wait_until

TIMEOUT_S = 0.5
LIMIT = 8


class QuickHandler(NoDelayRequestHandler):
    timeout = TIMEOUT_S


@pytest.fixture(scope="module")
def endpoint():
    faults = Faults()
    gateway = Gateway(providers=[], guards=[], health=lambda: {"endpoint": faults.health("endpoint")}, faults=faults)
    server = EndpointServer("127.0.0.1", free_port(), gateway, max_connections=LIMIT, handler=QuickHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, faults
    server.shutdown()
    server.server_close()


def exchange(port: int, raw: bytes, wait: float = 5.0) -> bytes:
    """Send `raw` and read until the server closes the connection (or `wait` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(raw)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
    return out


def status_and_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def healthy(port: int) -> int:
    return int(exchange(port, f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
               .split()[1])


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12 34"])
def test_a_malformed_content_length_gets_400_without_a_traceback(endpoint, length):
    server, faults = endpoint
    answer = exchange(server.server_port, f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"
                      .encode())
    status, body = status_and_body(answer)
    assert status == 400 and "Content-Length" in body["message"]
    assert b"Traceback" not in answer
    assert faults.health("endpoint")["healthy"]  # the client's mistake, not the cloud's fault


def test_a_body_that_never_arrives_is_answered_408_after_the_timeout(endpoint):
    server, faults = endpoint
    started = time.monotonic()
    status, body = status_and_body(exchange(server.server_port,
                                            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}"))
    assert status == 408 and body["__type"] == "RequestTimeout"
    assert time.monotonic() - started >= TIMEOUT_S
    assert faults.health("endpoint")["healthy"]


def test_half_sent_requests_take_at_most_the_limit_and_are_dropped_after_the_timeout(endpoint):
    server, _ = endpoint
    threads_before = threading.active_count()
    stalled = []
    for _ in range(LIMIT * 4):  # each sends half a request line and stops
        s = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        s.sendall(b"GET / HT")
        stalled.append(s)
    try:
        wait_until(lambda: server.refused >= LIMIT * 3)  # every connection accepted or refused
        assert threading.active_count() <= threads_before + LIMIT
        # past the limit: refused at once with 503 and closed, not queued
        answer = exchange(server.server_port, f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), wait=2)
        assert answer.startswith(b"HTTP/1.1 503") and b"SlowDown" in answer
        assert server.refused >= LIMIT * 3
        # after the request timeout the stalled ones are dropped and the endpoint answers again
        wait_until(lambda: server.connections == 0, TIMEOUT_S * 10, explain=lambda: server.connections)
        assert healthy(server.server_port) == 200
        assert all(s.recv(10) == b"" for s in stalled[:LIMIT])  # the server closed them
    finally:
        for s in stalled:
            s.close()
