"""An HTTP load generator for the stage URL: one user is a keep-alive `Client`; a `Load` is many of them at once,
as fast as answers come or at a steady rate. Each request is an `Outcome`: its time and its failure kind (`classify`).
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from typing import NamedTuple

from ..core import web

REQUEST_TIMEOUT_S = 30.0


class Outcome(NamedTuple):
    """One request: its time (ms) and its failure kind (None: it succeeded)."""
    ms: float
    failure: str | None


def classify(status: int, body: bytes) -> str | None:
    """None for the module's success (HTTP 200 with `"statusCode": 200`), else the failure's kind."""
    if status != 200:
        return f"HTTP {status}"
    try:
        result = json.loads(body)
    except ValueError:
        return "HTTP 200, body not JSON"
    code = result.get("statusCode") if isinstance(result, dict) else None
    if code == 200:
        return None
    if code is None:
        error = result.get("errorType") if isinstance(result, dict) else None
        return f"HTTP 200, function error {error}" if error else "HTTP 200, no statusCode"
    try:
        error = json.loads(result.get("body") or "{}").get("errorType")
    except (ValueError, AttributeError):
        error = None
    return f"statusCode {code}" + (f" {error}" if error else "")


class Client:
    """One simulated user: a keep-alive connection to the URL, opened again after any error."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.url, self.timeout = url, timeout
        self._conn: http.client.HTTPConnection | None = None
        self._host = self._path = ""

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self) -> Outcome:
        """One GET of the URL, timed from sending to the end of the body."""
        started = time.perf_counter()
        try:
            if self._conn is None:
                self._conn, self._host, self._path = web.connection(self.url, self.timeout)
            self._conn.request("GET", self._path, headers={"Host": self._host, "User-Agent": "lab-bench",
                                                            "Accept": "*/*"})
            response = self._conn.getresponse()
            body = response.read()
            if response.will_close:
                self.close()
            return Outcome((time.perf_counter() - started) * 1000, classify(response.status, body))
        except Exception as e:  # any exception is a failure of that request, recorded by its kind
            self.close()
            return Outcome((time.perf_counter() - started) * 1000, type(e).__name__)


class Load:
    """`users` threads, each a `Client` looping GETs of the URL until `stop()`: as fast as answers come, or
    at a steady `rate` (requests/s in all): each user sends on its own grid, and one that falls behind
    skips the requests it missed rather than catching up in a burst."""

    def __init__(self, url: str, users: int, rate: float | None = None) -> None:
        self.url, self.users = url, users
        self.interval = users / rate if rate else 0.0  # seconds between one user's requests
        self.outcomes: list[list[Outcome]] = [[] for _ in range(users)]  # one list per user: no lock needed
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._user, args=(i,), name=f"stage-user-{i}", daemon=True)
                         for i in range(users)]
        self._started = self._elapsed = 0.0

    def _user(self, i: int) -> None:
        client = Client(self.url)
        due = time.perf_counter() + self.interval * i / self.users  # the users' grids interleave
        try:
            while not self._stop.is_set():
                if self.interval:
                    if self._stop.wait(max(0.0, due - time.perf_counter())):
                        break
                    due = max(due + self.interval, time.perf_counter())
                self.outcomes[i].append(client.get())
        finally:
            client.close()

    def start(self) -> Load:
        """Start every user; returns self."""
        self._started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> float:
        """Stop every user (requests in flight finish) and return the seconds the load ran."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._elapsed = time.perf_counter() - self._started
        return self._elapsed

    def all_outcomes(self) -> list[Outcome]:
        """Every user's outcomes, in one list."""
        return [o for user in self.outcomes for o in user]
