"""2. Connection storm: more concurrent executions than the database's max_connections, directly
and through the proxy, with the database's Threads_connected sampled over time.
"""
from __future__ import annotations

import time
from typing import Any

from .. import proxy, rds
from ..core.config import Lab
from ..local import RunningCloud
from .cloud import ThreadsSampler, cloud_info, db_threads_connected, proxy_stats
from .functions import FUNCTION_TIMEOUT_S, delete_measurement_function, deploy_storm, invoke_concurrently, tally
from .settings import lower_connections

TOO_MANY_CONNECTIONS = 1040  # MySQL's "Too many connections"


def _wait_for_threads(cloud: RunningCloud, at_most: int, timeout: float = 10.0) -> int:
    """Wait until the database has at most `at_most` client connections (closed ones take a moment)."""
    deadline = time.monotonic() + timeout
    while (now := db_threads_connected(cloud)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return now


def storm(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None, concurrency: int = 20,
          max_connections: int = 10, pool_percent: int = 50, hold_s: float = 0.5) -> dict[str, Any]:
    """`concurrency` simultaneous executions of one function that keeps a module-scope connection
    (handler/storm), first with DB_HOST = the database, then with DB_HOST = the RDS Proxy endpoint.

    The database's max_connections is lowered first (`lower_connections`, left lowered: call
    `remove_measurement_resources` at the end). Returns the settings and, per run ("direct",
    "proxy"): successes, errors and their MySQL codes, the database's Threads_connected over time
    and its peak; for the proxy run also the peak of its backend connections.
    """
    cloud = cloud_info(lab, cloud)
    settings = lower_connections(lab, cloud, max_connections, pool_percent, borrow_timeout_s=FUNCTION_TIMEOUT_S - 5)
    result: dict[str, Any] = {"concurrency": concurrency, "hold_s": hold_s, **settings, "runs": {}}
    if delete_measurement_function(lab, "storm"):  # left by an interrupted run: its environments hold connections
        time.sleep(0.2)
    quiet = db_threads_connected(cloud)  # e.g. the proxy's idle connections
    for mode, host in (("direct", rds.db_host(lab)), ("proxy", proxy.proxy_endpoint(lab))):
        name = deploy_storm(lab, host, hold_s)  # a new DB_HOST retires the previous run's environments
        baseline_threads = _wait_for_threads(cloud, quiet)  # and their connections are closed
        stats_before = proxy_stats(lab, cloud)
        with ThreadsSampler(cloud) as sampler:
            results = invoke_concurrently(lab, name, concurrency, t0=sampler.t0)
            time.sleep(0.3)  # the connections stay: they belong to the environments, which stay warm
        run = {"host": "database" if mode == "direct" else "proxy", **tally(results),
               "threads_before": baseline_threads, "peak_db_threads": sampler.peak,
               "threads": sampler.samples, "invocations_detail": results}
        if mode == "proxy":
            stats_after = proxy_stats(lab, cloud)
            peak = sampler.peak
            if stats_after["peak_backend_open"] > stats_before["peak_backend_open"]:
                peak = max(peak, stats_after["peak_backend_open"])  # a new all-time peak was reached in this run
            run.update(peak_backend_open=peak, borrow_timeouts=stats_after["borrow_timeouts"]
                       - stats_before["borrow_timeouts"])
        result["runs"][mode] = run
    delete_measurement_function(lab, "storm")  # its environments stop and close their connections
    return result
