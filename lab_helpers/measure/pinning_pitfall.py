"""3. The pinning pitfall: a handler that never commits holds its pooled connection, and every other
invocation through the proxy waits and gets a borrow timeout (9501); then the fix.
"""
from __future__ import annotations

import time
from typing import Any

from ..core.config import Lab
from ..local import RunningCloud
from .cloud import cloud_info, proxy_stats
from .functions import (
    delete_measurement_function,
    deploy_pinning,
    deploy_variant,
    invoke,
    invoke_concurrently,
    lambda_client,
    tally,
)
from .settings import lower_connections

BORROW_TIMEOUT = 9501  # RDS Proxy's "Timed-out waiting to acquire database connection"


def _wait_for_pool_idle(lab: Lab, cloud: RunningCloud, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (stats := proxy_stats(lab, cloud))["backend_in_use"] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return stats


def pinning(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None, borrow_timeout_s: int = 1,
            max_connections: int = 10, pool_percent: int = 50, fix: str = "commit", hold_s: float = 0.3
            ) -> dict[str, Any]:
    """A handler that never commits (handler/pinning, FIX=none) holds its pooled connection.

    pool_size + 2 simultaneous executions: each that gets a backend connection keeps it, the others
    wait ConnectionBorrowTimeout and get 9501; then the project's Module 3 handler, which is not at
    fault, is invoked and waits and fails the same way. Then the fix (FIX=`fix`: "commit" or
    "autocommit"), and the same again. Each invocation holds its query `hold_s` (less than the borrow
    timeout), so that they overlap: an environment that answered at once would serve a later one of
    them, and fewer environments than invocations would hold connections.
    """
    if fix not in ("commit", "autocommit"):
        raise ValueError("fix must be 'commit' or 'autocommit'")
    cloud = cloud_info(lab, cloud)
    settings = lower_connections(lab, cloud, max_connections, pool_percent, borrow_timeout_s)
    concurrency = settings["pool_size"] + 2
    bystander = deploy_variant(lab, "module3")
    delete_measurement_function(lab, "pinning")  # left by an interrupted run: its environments hold connections
    client = lambda_client(lab)
    result: dict[str, Any] = {**settings, "concurrency": concurrency, "fix": fix, "runs": {}}
    for label, mode in (("no_commit", "none"), ("fixed", fix)):
        name = deploy_pinning(lab, mode, hold_s)  # the fix retires the environments that hold connections
        _wait_for_pool_idle(lab, cloud)
        t0 = time.perf_counter()
        results = invoke_concurrently(lab, name, concurrency, t0=t0)
        held = proxy_stats(lab, cloud)["backend_in_use"]
        other = invoke(client, bystander, t0=t0)
        result["runs"][label] = {"handler_fix": mode, **tally(results), "backend_in_use_after": held,
                                 "bystander": {"function": bystander, **other}, "invocations_detail": results}
    delete_measurement_function(lab, "pinning")
    return result
