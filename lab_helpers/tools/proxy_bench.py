"""`make bench`'s RDS Proxy figures: what the proxy adds to a query, and its throughput under load.

    python -m lab_helpers.tools.proxy_bench               # this part only, printed (quick iteration)
    python -m lab_helpers.tools.proxy_bench --rounds 5    # more rounds (the medians steady on a busy machine)

A private MariaDB and the RDS Proxy emulator in a process of its own, as the local cloud runs them
(the database side in plain TCP), measured four ways side by side: the database directly, a raw byte
relay in Python (tools/raw_relay.py: what any relay costs on this machine, the floor; it polls between
packets as the proxy does, rds/proxy/busy_poll.py), the proxy with a plain client connection, and the proxy
with TLS (the lesson's proxy requires it):
- one client, `SELECT 1` on a kept connection: p50 latency each way, what the proxy adds, and the CPU the
  relay's and the proxy's processes spend per query (the ways take turns every `queries / SLICES` queries:
  the machine's state, such as which CPU each process runs on, which moves the p50 of a loopback round trip
  by half, then weighs on every way alike);
- `clients` concurrent clients for `seconds`, each `SELECT 1` in a loop on its own connection:
  queries per second each way, and the proxy's share of the database's throughput.
The ways take turns, `rounds` times, and each figure is the median of its rounds: other
work on the machine then weighs on all of them alike, so the ratios hold on a busy machine too. The
machine's load average at the start and the end is part of the result.
"""
from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from ..local import CertificateAuthority, MariaDB, ProxyProcess, ProxySettings, cpu_seconds, free_port

USER, PASSWORD = "bench", "bench-Passw0rd"
# The database directly, a raw byte relay (tools/raw_relay.py: what any relay in Python costs here, the floor the
# proxy's targets come from), the proxy in plain TCP, the proxy with TLS.
WAYS = ("direct", "relay", "proxy", "proxy_tls")
CLIENTS = 50
QUERIES = 2000  # SELECT 1 of the one-client latency run, each way and round
SLICES = 20  # the latency run's queries go in slices, the ways taking turns at each (see `_latency_round`)
SECONDS = 2.0  # of each throughput run
ROUNDS = 3

TARGET_ADDED_MS = 0.05  # SELECT 1 through the proxy, p50, over the database directly (a raw relay's cost in Python,
# as once measured without polling)
TARGET_THROUGHPUT = 0.8  # the proxy's share of the database's throughput at CLIENTS clients


def _connect(target: dict[str, Any]) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", user=USER, password=PASSWORD, autocommit=True, **target)


def _latencies_ms(conn: pymysql.connections.Connection, n: int) -> list[float]:
    samples = []
    with conn.cursor() as cur:
        for _ in range(n):
            started = time.perf_counter()
            cur.execute("SELECT 1")
            cur.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _latency_round(kept: dict[str, pymysql.connections.Connection], queries: int, pids: dict[str, int | None]
                   ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """`queries` SELECT 1 latencies (ms) of each way, the ways taking turns every queries / SLICES; and the CPU
    microseconds per query of the process of each way in `pids` meanwhile."""
    samples: dict[str, list[float]] = {way: [] for way in kept}
    used = {way: 0.0 for way in kept if pids.get(way)}
    for _ in range(SLICES):
        for way, conn in kept.items():
            pid = pids.get(way)
            before = cpu_seconds(pid) if pid else 0.0
            samples[way] += _latencies_ms(conn, max(1, queries // SLICES))
            if pid:
                used[way] += cpu_seconds(pid) - before
    return samples, {way: seconds / len(samples[way]) * 1e6 for way, seconds in used.items()}


def _throughput(target: dict[str, Any], clients: int, seconds: float, pid: int | None = None
                ) -> tuple[float, float | None]:
    """Queries per second of `clients` connections (opened before the clock starts) looping `SELECT 1`, and
    the CPU microseconds per query process `pid` used meanwhile."""
    counts, barrier, stop = [0] * clients, threading.Barrier(clients + 1), threading.Event()
    failures: list[BaseException] = []

    def client(i: int) -> None:
        try:
            conn = _connect(target)
        except pymysql.Error as e:
            failures.append(e)
            barrier.abort()
            return
        try:
            barrier.wait()
            with conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute("SELECT 1")
                    cur.fetchall()
                    counts[i] += 1
        except threading.BrokenBarrierError:
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    started, used = time.perf_counter(), cpu_seconds(pid) if pid else 0.0
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    used = cpu_seconds(pid) - used if pid else 0.0
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"a bench client could not connect: {failures[0]}")
    queries = sum(counts)
    return queries / elapsed, (used / queries * 1e6 if pid and queries else None)


def start_relay(target_port: int, timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], int]:
    """The raw relay (tools/raw_relay.py) in a process of its own, once it accepts connections."""
    port = free_port()
    relay = subprocess.Popen([sys.executable, "-m", "lab_helpers.tools.raw_relay", str(port), str(target_port)],
                             stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return relay, port
        except OSError:
            if relay.poll() is not None or time.monotonic() > deadline:
                relay.kill()
                raise RuntimeError("the bench's raw relay did not start") from None
            time.sleep(0.05)


def summary(latency_ms: dict[str, list[float]], qps: dict[str, list[float]], clients: int,
            load: tuple[float, float], cpu_us: dict[str, list[float]] | None = None,
            one_client_cpu_us: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The figures from each way's rounds (p50 latency of each round, q/s of each round, the CPU microseconds
    per query of each way's process at `clients` clients and with one): medians, what the proxy adds, its share
    of the database's throughput, the machine's load average (start, end)."""
    p50 = {way: statistics.median(rounds) for way, rounds in latency_ms.items()}
    rate = {way: statistics.median(rounds) for way, rounds in qps.items()}
    cpu = {way: round(statistics.median(rounds), 1) for way, rounds in (cpu_us or {}).items() if rounds}
    cpu_one = {way: round(statistics.median(rounds), 1) for way, rounds in (one_client_cpu_us or {}).items() if rounds}
    relay = {"select1_relay_p50_ms": round(p50["relay"], 3),
             "added_relay_p50_ms": round(p50["relay"] - p50["direct"], 3), "relay_qps": round(rate["relay"]),
             "relay_throughput_ratio": round(rate["relay"] / rate["direct"], 2),
             # what the proxy's parsing and bookkeeping add to a relay's own cost (both poll between packets)
             "proxy_over_relay_p50_ms": round(p50["proxy"] - p50["relay"], 3),
             "tls_over_relay_p50_ms": round(p50["proxy_tls"] - p50["relay"], 3),
             } if "relay" in p50 and "relay" in rate else {}
    return {**relay,
        "select1_direct_p50_ms": round(p50["direct"], 3), "select1_proxy_p50_ms": round(p50["proxy"], 3),
        "select1_proxy_tls_p50_ms": round(p50["proxy_tls"], 3),
        "added_p50_ms": round(p50["proxy"] - p50["direct"], 3),
        "added_tls_p50_ms": round(p50["proxy_tls"] - p50["direct"], 3),
        "clients": clients, "direct_qps": round(rate["direct"]), "proxy_qps": round(rate["proxy"]),
        "proxy_tls_qps": round(rate["proxy_tls"]),
        "throughput_ratio": round(rate["proxy"] / rate["direct"], 2),
        "tls_throughput_ratio": round(rate["proxy_tls"] / rate["direct"], 2),
        "rounds": {"p50_ms": {way: [round(v, 3) for v in r] for way, r in latency_ms.items()},
                   "qps": {way: [round(v) for v in r] for way, r in qps.items()}},
        "proxy_cpu_us_per_query": cpu,
        "one_client_cpu_us_per_query": cpu_one,
        "load_average": {"start": round(load[0], 2), "end": round(load[1], 2), "cpus": os.cpu_count()},
    }


def proxy_speed(queries: int = QUERIES, clients: int = CLIENTS, seconds: float = SECONDS, rounds: int = ROUNDS,
                echo: Callable[..., None] = print) -> dict[str, Any]:
    """The proxy's added latency (p50, one client) and its share of the database's throughput (`clients`),
    in plain TCP and with TLS, beside a raw relay's, the ways measured in turns."""
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lab-bench-proxy-") as folder:
        root = Path(folder)
        db = MariaDB(root / "db", max_connections=clients * 3 + 10)
        db.start(root / "template")
        process = ProxyProcess("bench", root / "proxy")
        kept: dict[str, pymysql.connections.Connection] = {}
        relay: subprocess.Popen[bytes] | None = None
        counters: dict[str, Any] = {}
        try:
            db.ensure_user(USER, PASSWORD)
            ca = CertificateAuthority(root / "ca").ensure()
            cert, key = ca.issue("bench", ["localhost"], root / "proxy")
            process.write(ProxySettings(credentials={USER: PASSWORD}, target=("127.0.0.1", db.bound_port),
                                        db_max_connections=clients * 3 + 10, tls=(str(cert), str(key))))
            process.start()
            relay, relay_port = start_relay(db.bound_port)
            pids = {"relay": relay.pid, "proxy": process.proc.pid if process.proc else None}
            pids["proxy_tls"] = pids["proxy"]
            tls = ssl.create_default_context(cafile=str(ca.cert_path))
            targets: dict[str, dict[str, Any]] = {"direct": {"port": db.port, "ssl_disabled": True},
                       "relay": {"port": relay_port, "ssl_disabled": True},
                       "proxy": {"port": process.port, "ssl_disabled": True},
                       "proxy_tls": {"port": process.port, "ssl": tls}}
            kept = {way: _connect(target) for way, target in targets.items()}
            for conn in kept.values():
                _latencies_ms(conn, 100)  # warm-up
            latency: dict[str, list[float]] = {way: [] for way in WAYS}
            qps: dict[str, list[float]] = {way: [] for way in WAYS}
            cpu_us: dict[str, list[float]] = {way: [] for way in WAYS if way != "direct"}
            cpu_one: dict[str, list[float]] = {way: [] for way in WAYS if way != "direct"}
            for n in range(rounds):
                samples, used = _latency_round(kept, queries, pids)
                for way in WAYS:
                    latency[way].append(statistics.median(samples[way]))
                    if way in used:
                        cpu_one[way].append(used[way])
                    rate, cpu = _throughput(targets[way], clients, seconds, pids.get(way))
                    qps[way].append(rate)
                    if cpu is not None:
                        cpu_us[way].append(cpu)
                echo(f"RDS Proxy bench round {n + 1}/{rounds}: SELECT 1 p50 "
                     + ", ".join(f"{way} {latency[way][-1]:.3f} ms" for way in WAYS) + f"; {clients} clients "
                     + ", ".join(f"{way} {qps[way][-1]:,.0f} q/s" for way in WAYS))
            counters = process.stats() or {}
        finally:
            for conn in kept.values():
                conn.close()
            process.stop()
            if relay is not None:
                relay.terminate()
                relay.wait(10)
            db.stop()
    result = summary(latency, qps, clients, (load_start, os.getloadavg()[0]), cpu_us, cpu_one)
    if counters.get("statements"):  # how many of the proxy's statements never woke a session's task (fast_path.py)
        result["statements_in_callbacks"] = round(counters.get("statements_in_callbacks", 0)
                                                  / counters["statements"], 4)
    echo(f"RDS Proxy: SELECT 1 p50 {result['select1_direct_p50_ms']:.3f} ms direct, "
         f"+{result['added_p50_ms']:.3f} ms via the proxy, +{result['added_tls_p50_ms']:.3f} ms with TLS; "
         f"{clients} clients: {result['throughput_ratio']:g}x direct, {result['tls_throughput_ratio']:g}x with TLS")
    return result


def table_rows(p: dict[str, Any]) -> list[tuple[str, str]]:
    """These figures as (label, value) lines for `bench.table()`."""
    load = p.get("load_average") or {}
    rows = [("SELECT 1 p50 direct / proxy / proxy TLS",
             f"{p['select1_direct_p50_ms']:.3f} ms / {p['select1_proxy_p50_ms']:.3f} ms (+{p['added_p50_ms']:.3f}) / "
             f"{p['select1_proxy_tls_p50_ms']:.3f} ms (+{p['added_tls_p50_ms']:.3f})"),
            (f"{p['clients']} clients direct / proxy / proxy TLS",
             f"{p['direct_qps']:,} / {p['proxy_qps']:,} ({p['throughput_ratio']:g}x) / "
             f"{p['proxy_tls_qps']:,} q/s ({p['tls_throughput_ratio']:g}x)")]
    cpu = p.get("proxy_cpu_us_per_query") or {}
    if cpu:
        rows.append((f"proxy process CPU per query ({p['clients']} clients)",
                     f"{cpu['proxy']:g} µs plain / {cpu['proxy_tls']:g} µs TLS"))
    one = p.get("one_client_cpu_us_per_query") or {}
    if "proxy" in one:  # (with one client the loops poll between packets, rds/proxy/busy_poll.py: the CPU they spend)
        rows.append(("CPU per query, one client (polling)",
                     (f"{one['relay']:g} µs a raw relay / " if "relay" in one else "")
                     + f"{one['proxy']:g} µs proxy / {one['proxy_tls']:g} µs TLS"))
    if "statements_in_callbacks" in p:
        rows.append(("statements relayed in callbacks (no task)", f"{p['statements_in_callbacks']:.1%}"))
    if "select1_relay_p50_ms" in p:
        relay_cpu = f", {cpu['relay']:g} µs CPU per query" if "relay" in cpu else ""
        rows.append(("a raw byte relay in Python (the floor)",
                     f"{p['select1_relay_p50_ms']:.3f} ms (+{p['added_relay_p50_ms']:.3f}); {p['relay_qps']:,} q/s "
                     f"({p['relay_throughput_ratio']:g}x){relay_cpu}"))
        rows.append(("the proxy over that relay (p50, one client)",
                     f"{p['proxy_over_relay_p50_ms']:+.3f} ms plain / {p['tls_over_relay_p50_ms']:+.3f} ms TLS"))
    if load:
        rounds = len(p["rounds"]["qps"]["direct"])
        ways = "the four ways" if "select1_relay_p50_ms" in p else "the three ways"
        rows.append(("  measured", f"{ways} in turns, median of {rounds} rounds; load average "
                                   f"{load['start']:g} -> {load['end']:g} on {load['cpus']} CPUs"))
    return rows


def targets(p: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The proxy's targets as (target, measured, met) for `bench.targets()` (the plain relay's; TLS is shown
    beside it)."""
    return [
        (f"SELECT 1 through the proxy adds <= {TARGET_ADDED_MS:g} ms (p50, one client)",
         f"{p['added_p50_ms']:.3f} ms (TLS: {p['added_tls_p50_ms']:.3f} ms"
         + (f"; a raw relay: {p['added_relay_p50_ms']:.3f} ms" if "added_relay_p50_ms" in p else "") + ")",
         p["added_p50_ms"] <= TARGET_ADDED_MS),
        (f"at {p['clients']} clients the proxy keeps >= {TARGET_THROUGHPUT:g}x the database's throughput",
         f"{p['throughput_ratio']:g}x (TLS: {p['tls_throughput_ratio']:g}x"
         + (f"; a raw relay: {p['relay_throughput_ratio']:g}x" if "relay_throughput_ratio" in p else "") + ")",
         p["throughput_ratio"] >= TARGET_THROUGHPUT),
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.tools.proxy_bench`: this part alone, printed."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.proxy_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="of each throughput run")
    parser.add_argument("--queries", type=int, default=QUERIES, help="of each latency run")
    args = parser.parse_args(argv)
    result = proxy_speed(args.queries, args.clients, args.seconds, args.rounds,
                         echo=lambda *a: print(*a, flush=True))
    print()
    for label, value in table_rows(result):
        print(f"  {label:<44} {value}")
    for target, measured, met in targets(result):
        print(f"  [{'met' if met else 'NOT MET':>7}] {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
