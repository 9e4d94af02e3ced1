"""The measurements' local-only guard, and the operator's view of the local cloud.

Local target only: the measurements lower the database's connection limit, restart it, and
start dozens of execution environments, which on AWS means minutes of downtime and real costs.
What they read of the cloud: its record and health, the proxy's pool, and the database's own
counters, as root over its unix socket (`ThreadsSampler` follows Threads_connected during a run).
"""
from __future__ import annotations

import threading
import time
from typing import Any

import pymysql

from ..core.config import Lab
from ..core.waiting import require
from ..local import CloudRecord, Health, LocalCloudError, RunningCloud, admin_connect, admin_query


class LocalOnly(RuntimeError):
    """The measurements run on the local cloud only."""


def require_local(lab: Lab) -> None:
    """LocalOnly unless `lab` is on the local cloud."""
    if lab.target != "local":
        raise LocalOnly("the measurements run on the local cloud only: they lower the database's max_connections, "
                        "restart it and start dozens of Lambda environments, which on AWS means downtime and costs.")


def cloud_info(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None) -> RunningCloud:
    """The running local cloud that `lab` talks to, typed (`local.RunningCloud`).

    `cloud` is what `lifecycle.up()` returned (tests and the benchmark pass it), or a RunningCloud already
    found (returned as it is: measurements pass it on without looking again); by default the cloud of
    LAB_STATE_DIR, checked to serve the lab's endpoint.
    """
    require_local(lab)
    if isinstance(cloud, RunningCloud):
        return cloud
    if cloud is None:
        try:
            return RunningCloud.serving(lab.endpoint_url or "")
        except LocalCloudError as e:
            raise RuntimeError(f"no record of the local cloud at {lab.endpoint_url}: pass cloud=<what "
                               f"lifecycle.up() returned>, or set LAB_STATE_DIR to its state folder ({e}).") from e
    found = RunningCloud(CloudRecord.from_json(cloud))
    if found.endpoint != lab.endpoint_url or not found.record.database.socket:
        raise RuntimeError(f"the local cloud passed serves {found.endpoint}, not the lab's {lab.endpoint_url}.")
    return found


def health(cloud: RunningCloud) -> Health:
    """The local cloud's health: the database's max_connections and Threads_connected, each proxy's pool."""
    try:
        return cloud.health(timeout=5)
    except LocalCloudError as e:
        raise RuntimeError(str(e)) from e


def proxy_stats(lab: Lab, cloud: RunningCloud) -> dict[str, Any]:
    """The lab's proxy's pool now: pool_size, backend_open, backend_in_use, peak_backend_open, borrow_timeouts, ..."""
    found = health(cloud).proxy(lab.names.proxy, lab.region)
    return require(found, f"RDS Proxy {lab.names.proxy} in the local cloud").figures


def _admin(cloud: RunningCloud) -> pymysql.connections.Connection:
    """root on the local MariaDB over its unix socket: the operator's view, not the lab's."""
    return admin_connect(cloud.record.database.socket, connect_timeout=5)


def _admin_value(cloud: RunningCloud, sql: str) -> str | int:
    value: str | int = admin_query(cloud.record.database.socket, sql)[0][-1]
    return value


def db_threads_connected(cloud: RunningCloud) -> int:
    """Client connections the database has now (not counting this one)."""
    return int(_admin_value(cloud, "SHOW GLOBAL STATUS LIKE 'Threads_connected'")) - 1


def db_max_connections(cloud: RunningCloud) -> int:
    """The database server's max_connections now."""
    return int(_admin_value(cloud, "SELECT @@GLOBAL.max_connections"))


class ThreadsSampler:
    """Samples the database's Threads_connected every `interval` s while in a `with` block.

    It holds one root connection over the unix socket for the whole run: the health endpoint opens
    a new admin connection per call, which a full server refuses exactly when it matters. That one
    connection is not counted in the samples, but it does take one of the server's slots.
    `samples` are (seconds since start, connections).
    """

    def __init__(self, cloud: RunningCloud, interval: float = 0.02):
        self.cloud, self.interval = cloud, interval
        self.samples: list[tuple[float, int]] = []
        self.t0 = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: pymysql.connections.Connection[Any] | None = None

    def __enter__(self) -> "ThreadsSampler":
        self._conn = _admin(self.cloud)
        self.t0 = time.perf_counter()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="threads-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        if self._conn is None:
            raise RuntimeError("ThreadsSampler samples inside `with` only")
        with self._conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            value = int(cur.fetchone()[1]) - 1
        self.samples.append((round(time.perf_counter() - self.t0, 3), value))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except pymysql.MySQLError:  # the server went away (a restart): stop sampling
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self._conn is not None:
                self._conn.close()
        except pymysql.MySQLError:
            pass

    @property
    def peak(self) -> int:
        return max((n for _, n in self.samples), default=0)
