"""`make bench`'s RDS Proxy figures: what the proxy adds to a query, and its throughput under load.

A private MariaDB and the RDS Proxy emulator in a process of its own, exactly as the local cloud
runs them (TLS off on both sides, so the figures are the relay's own):
- one client, `SELECT 1` on a kept connection: p50 latency directly and through the proxy;
- `clients` concurrent clients for `seconds`, each `SELECT 1` in a loop on its own connection:
  queries per second directly and through the proxy (the ratio is what the proxy keeps).
"""
from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pymysql

from .local.rds.mariadb import MariaDB
from .local.rds.proxy import ProxySettings
from .local.rds.proxy.process import ProxyProcess

USER, PASSWORD = "bench", "bench-Passw0rd"


def _latency_ms(port: int, n: int) -> float:
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, autocommit=True,
                           ssl_disabled=True)
    try:
        samples = []
        with conn.cursor() as cur:
            for _ in range(n):
                started = time.perf_counter()
                cur.execute("SELECT 1")
                cur.fetchall()
                samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)
    finally:
        conn.close()


def _throughput(port: int, clients: int, seconds: float) -> float:
    counts, barrier, stop = [0] * clients, threading.Barrier(clients + 1), threading.Event()

    def client(i: int) -> None:
        conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, autocommit=True,
                               ssl_disabled=True)
        barrier.wait()
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT 1")
                cur.fetchall()
                counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def proxy_speed(queries: int = 3000, clients: int = 50, seconds: float = 3.0, echo=print) -> dict[str, Any]:
    """The proxy's added latency (p50, one client) and its share of the database's throughput (`clients`)."""
    with tempfile.TemporaryDirectory(prefix="lab-bench-proxy-") as folder:
        root = Path(folder)
        db = MariaDB(root / "db", max_connections=clients * 2 + 10)
        db.start(root / "template")
        process = ProxyProcess("bench", root / "proxy")
        try:
            db.ensure_user(USER, PASSWORD)
            process.write(ProxySettings(credentials={USER: PASSWORD}, target=("127.0.0.1", db.port),
                                        db_max_connections=clients * 2 + 10))
            process.start()
            direct_ms, proxy_ms = _latency_ms(db.port, queries), _latency_ms(process.port, queries)
            direct_qps = _throughput(db.port, clients, seconds)
            proxy_qps = _throughput(process.port, clients, seconds)
        finally:
            process.stop()
            db.stop()
    result = {"select1_direct_p50_ms": round(direct_ms, 3), "select1_proxy_p50_ms": round(proxy_ms, 3),
              "added_p50_ms": round(proxy_ms - direct_ms, 3), "clients": clients,
              "direct_qps": round(direct_qps), "proxy_qps": round(proxy_qps),
              "throughput_ratio": round(proxy_qps / direct_qps, 2)}
    echo(f"RDS Proxy: SELECT 1 p50 {direct_ms:.3f} ms direct, {proxy_ms:.3f} ms via the proxy; "
         f"{clients} clients: {direct_qps:,.0f} q/s direct, {proxy_qps:,.0f} q/s via the proxy")
    return result
