"""Waiting in tests for something to happen, never for a fixed time: poll a condition until it holds."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.02,
               explain: Callable[[], object] | None = None) -> T:
    """Poll `condition` until it returns something true, and return that; fail the test after `timeout` s,
    with what `explain()` returns (the state seen) in the message."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not reached in {timeout} s" + (f": {explain()}" if explain else ""))
        time.sleep(interval)
    return value
