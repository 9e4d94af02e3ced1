"""Failures inside the local cloud that nobody asked for, kept so that `status` can show them.

A provider catches what it expects (a missing function, a secret that is not JSON) and answers as
AWS would. Anything else is a fault of the local cloud itself: it is logged with its traceback,
counted here, and the component shows as UNHEALTHY in `status` with the last message, instead of
turning into a plausible answer.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fault:
    count: int
    last: str  # "<what was being done>: <ExceptionType>: <message>"
    at: float  # time.time() of the last one


class Faults:
    """Per component ("endpoint", "rds", "lambda", ...): how many unexpected failures, and the last one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def report(self, component: str, what: str, error: BaseException) -> None:
        """Record an unexpected failure (call it from an `except` block: the traceback is logged)."""
        log.error("%s: %s", component, what, exc_info=error)
        message = f"{what}: {type(error).__name__}: {error}"
        with self._lock:
            before = self._faults.get(component)
            self._faults[component] = Fault((before.count if before else 0) + 1, message, time.time())

    def of(self, component: str) -> Fault | None:
        with self._lock:
            return self._faults.get(component)

    def health(self, component: str, **fields: Any) -> dict[str, Any]:
        """A component's health entry: healthy unless it has had a fault; the last one is shown."""
        fault = self.of(component)
        entry = {**fields, "healthy": fields.get("healthy", True) and fault is None}
        if fault is not None:
            entry.update(faults=fault.count, last_fault=fault.last)
        return entry
