"""How every helper looks a resource up and waits for it: the small pieces all modules share.

- `or_none`: a describe/get call, or None when AWS says the resource is not there.
- `require`: a prerequisite that must exist, else an error that says what to create first.
- `wait_until`: poll until a state is reached (for resources without a botocore waiter).
- `waiter_config`: the same pace for botocore waiters.
- `retry_while`: repeat a call while AWS answers an error that passes on its own
  (IAM changes still propagating, network interfaces released late).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .config import Lab

T = TypeVar("T")


def error_code(error: ClientError) -> str:
    """AWS's error code of a ClientError, e.g. 'ResourceNotFoundException'."""
    return error.response.get("Error", {}).get("Code", "")


def or_none(call: Callable[[], T], *codes: str) -> T | None:
    """`call()`, or None when AWS answers with one of `codes` (its "not found" errors)."""
    try:
        return call()
    except ClientError as e:
        if error_code(e) in codes:
            return None
        raise


def require(found: T | None, what: str) -> T:
    """`found`, or a LookupError naming the missing prerequisite."""
    if found is None:
        raise LookupError(f"{what} not found: create it first (the prerequisites notebook, or the step before)")
    return found


def wait_until(lab: Lab, what: str, fetch: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Call `fetch()` every `lab.poll_interval` s until `done(result)`; return that result.

    Raises TimeoutError after `lab.poll_timeout` s, with the last result in the message.
    """
    deadline = time.monotonic() + lab.poll_timeout
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: still {result!r} after {lab.poll_timeout:.0f} s")
        time.sleep(lab.poll_interval)


def waiter_config(lab: Lab) -> dict[str, Any]:
    """WaiterConfig for a botocore waiter that polls at the lab's pace and gives up at its timeout."""
    attempts = math.ceil(lab.poll_timeout / lab.poll_interval) if lab.poll_interval > 0 else 100
    return {"Delay": lab.poll_interval, "MaxAttempts": max(1, attempts)}


def retry_while(lab: Lab, call: Callable[[], T], code: str, message_part: str = "",
                timeout: float | None = None) -> T:
    """`call()`, repeated every `lab.poll_interval` s while it fails with `code` (and a message
    containing `message_part`), for at most `timeout` s (default `lab.poll_timeout`)."""
    deadline = time.monotonic() + (lab.poll_timeout if timeout is None else timeout)
    while True:
        try:
            return call()
        except ClientError as e:
            passing = error_code(e) == code and message_part.lower() in str(e).lower()
            if not passing or time.monotonic() >= deadline:
                raise
        time.sleep(lab.poll_interval)
