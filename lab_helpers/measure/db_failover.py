"""4. Failover: the database restarts under steady load; what direct clients and proxy clients see."""
from __future__ import annotations

import threading
import time
from typing import Any

from .. import rds
from ..core.config import Lab
from ..core.waiting import waiter_config
from ..local import RunningCloud
from .cloud import cloud_info
from .functions import (
    Invocation,
    checked,
    delete_measurement_function,
    deploy_storm,
    deploy_variant,
    invoke,
    lambda_client,
    tally,
)


def failover(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None, before_s: float = 1.0, after_s: float = 2.0,
             interval_s: float = 0.05) -> dict[str, Any]:
    """The database restarts (RebootDBInstance) under steady load from two clients, each invoking
    its function one call after another: "direct" (handler/storm, a module-scope connection to the
    database, reconnecting after an error) and "proxy" (the project's Module 3 handler through RDS
    Proxy). Per client: every invocation's outcome over time, its errors, and how long it took to
    recover (from its first error to its next success).
    """
    cloud = cloud_info(lab, cloud)
    delete_measurement_function(lab, "storm")
    names = {"direct": deploy_storm(lab, rds.db_host(lab), 0.0), "proxy": deploy_variant(lab, "module3")}
    for name in names.values():
        checked(invoke(lambda_client(lab), name), name)  # warm: each has its connection
    stop, t0 = threading.Event(), time.perf_counter()
    timeline: dict[str, list[Invocation]] = {mode: [] for mode in names}

    def load(mode: str) -> None:
        client = lambda_client(lab)
        while not stop.is_set():
            timeline[mode].append(invoke(client, names[mode], t0=t0))
            stop.wait(interval_s)

    threads = [threading.Thread(target=load, args=(mode,), daemon=True) for mode in names]
    for t in threads:
        t.start()
    time.sleep(before_s)
    reboot_start = time.perf_counter() - t0
    lab.client("rds").reboot_db_instance(DBInstanceIdentifier=lab.names.db_instance)
    lab.client("rds").get_waiter("db_instance_available").wait(DBInstanceIdentifier=lab.names.db_instance,
                                                               WaiterConfig=waiter_config(lab))
    reboot_end = time.perf_counter() - t0
    time.sleep(after_s)
    stop.set()
    for t in threads:
        t.join()
    delete_measurement_function(lab, "storm")
    clients = {}
    for mode, results in timeline.items():
        clients[mode] = {"function": names[mode], **tally(results), **_recovery(results, reboot_start),
                         "timeline": results}
    return {"reboot_start_s": round(reboot_start, 3), "reboot_end_s": round(reboot_end, 3),
            "restart_s": round(reboot_end - reboot_start, 3), "clients": clients}


def _recovery(results: list[Invocation], reboot_start: float) -> dict[str, Any]:
    after = [r for r in results if r["end_s"] >= reboot_start]
    errors = [r for r in after if not r["ok"]]
    if not errors:
        return {"first_error_s": None, "recovered_s": None, "outage_s": 0.0}
    last_error = errors[-1]
    recovered = next((r for r in after if r["ok"] and r["start_s"] >= last_error["end_s"]), None)
    return {"first_error_s": errors[0]["start_s"], "recovered_s": recovered["end_s"] if recovered else None,
            "outage_s": round(recovered["end_s"] - errors[0]["start_s"], 3) if recovered else None}
