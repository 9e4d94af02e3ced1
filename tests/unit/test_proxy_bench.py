"""`make bench`'s RDS Proxy part: the figures from each way's rounds, the table and the targets."""
from __future__ import annotations

import os
import socket
import socketserver
import threading

from lab_helpers.tools import bench, proxy_bench

# Rounds as measured here (2 CPUs shared with other work): p50 ms and q/s per round, each way.
LATENCY = {"direct": [0.037, 0.036, 0.041], "proxy": [0.394, 0.41, 0.167], "proxy_tls": [0.703, 0.72, 0.298]}
QPS = {"direct": [20565.0, 18000.0, 25266.0], "proxy": [2212.0, 1800.0, 3116.0],
       "proxy_tls": [1896.0, 1500.0, 2952.0]}


def test_each_figure_is_the_median_of_its_rounds_and_the_ratios_compare_the_medians():
    p = proxy_bench.summary(LATENCY, QPS, clients=50, load=(5.62, 17.27))
    assert (p["select1_direct_p50_ms"], p["select1_proxy_p50_ms"], p["select1_proxy_tls_p50_ms"]) == \
        (0.037, 0.394, 0.703)
    assert (p["added_p50_ms"], p["added_tls_p50_ms"]) == (0.357, 0.666)
    assert (p["direct_qps"], p["proxy_qps"], p["proxy_tls_qps"]) == (20565, 2212, 1896)
    assert (p["throughput_ratio"], p["tls_throughput_ratio"]) == (0.11, 0.09)
    assert p["load_average"]["start"] == 5.62 and p["load_average"]["end"] == 17.27
    assert p["rounds"]["qps"]["direct"] == [20565, 18000, 25266]


def test_the_table_shows_plain_and_tls_side_by_side_with_the_conditions():
    p = proxy_bench.summary(LATENCY, QPS, clients=50, load=(5.62, 17.27),
                            cpu_us={"proxy": [61.04, 58.2, 70.0], "proxy_tls": [80.0, 75.55, 90.1]})
    lines = dict(proxy_bench.table_rows(p))
    assert lines["proxy process CPU per query (50 clients)"] == "61 µs plain / 80 µs TLS"
    assert "statements relayed in callbacks (no task)" not in lines
    assert "CPU per query, one client (polling)" not in lines  # (not measured)
    lines = dict(proxy_bench.table_rows({**p, "statements_in_callbacks": 0.9987}))
    assert lines["statements relayed in callbacks (no task)"] == "99.9%"
    assert lines["SELECT 1 p50 direct / proxy / proxy TLS"] == \
        "0.037 ms / 0.394 ms (+0.357) / 0.703 ms (+0.666)"
    assert lines["50 clients direct / proxy / proxy TLS"] == "20,565 / 2,212 (0.11x) / 1,896 q/s (0.09x)"
    assert lines["  measured"].startswith("the three ways in turns, median of 3 rounds; load average 5.62 -> 17.27")


def test_the_targets_are_the_plain_relays_with_tls_beside_them():
    slow = proxy_bench.summary(LATENCY, QPS, clients=50, load=(1.0, 1.0))
    assert [met for _, _, met in proxy_bench.targets(slow)] == [False, False]
    fast = proxy_bench.summary({"direct": [0.1], "proxy": [0.14], "proxy_tls": [0.3]},
                               {"direct": [10000.0], "proxy": [8500.0], "proxy_tls": [6000.0]}, 50, (1.0, 1.0))
    rows = proxy_bench.targets(fast)
    assert rows == [("SELECT 1 through the proxy adds <= 0.05 ms (p50, one client)", "0.040 ms (TLS: 0.200 ms)", True),
                    ("at 50 clients the proxy keeps >= 0.8x the database's throughput", "0.85x (TLS: 0.6x)", True)]
    report = {"proxy": fast}
    report["targets"] = bench.targets(report)
    shown = bench.table(report)
    assert "[    met] at 50 clients the proxy keeps >= 0.8x the database's throughput: 0.85x (TLS: 0.6x)" in shown
    assert "SELECT 1 p50 direct / proxy / proxy TLS" in shown


def test_cpu_seconds_reads_this_process():
    before = proxy_bench.cpu_seconds(os.getpid())
    sum(i * i for i in range(300000))
    assert proxy_bench.cpu_seconds(os.getpid()) >= before > 0


def test_a_raw_relays_figures_stand_beside_the_proxys_and_in_its_targets():
    latency = {**LATENCY, "relay": [0.09, 0.08, 0.1]}
    qps = {**QPS, "relay": [18000.0, 17000.0, 20000.0]}
    p = proxy_bench.summary(latency, qps, clients=50, load=(1.0, 2.0), cpu_us={"relay": [20.0], "proxy": [40.0],
                                                                                 "proxy_tls": [50.0]},
                            one_client_cpu_us={"relay": [55.0, 50.04, 61.0], "proxy": [60.0, 70.0, 58.0],
                                               "proxy_tls": [70.0, 69.9, 80.0]})
    assert (p["select1_relay_p50_ms"], p["added_relay_p50_ms"], p["relay_qps"], p["relay_throughput_ratio"]) == \
        (0.09, 0.053, 18000, 0.88)
    lines = dict(proxy_bench.table_rows(p))
    assert lines["a raw byte relay in Python (the floor)"] == \
        "0.090 ms (+0.053); 18,000 q/s (0.88x), 20 µs CPU per query"
    assert lines["the proxy over that relay (p50, one client)"] == "+0.304 ms plain / +0.613 ms TLS"
    assert lines["CPU per query, one client (polling)"] == "55 µs a raw relay / 60 µs proxy / 70 µs TLS"
    assert lines["  measured"].startswith("the four ways in turns")
    measured = [m for _, m, _ in proxy_bench.targets(p)]
    assert measured == ["0.357 ms (TLS: 0.666 ms; a raw relay: 0.053 ms)", "0.11x (TLS: 0.09x; a raw relay: 0.88x)"]


def test_the_raw_relay_passes_bytes_both_ways():
    """The bench's floor is a real relay: a client talks through it to a server that echoes in upper case."""
    class Upper(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            while data := self.request.recv(65536):
                self.request.sendall(data.upper())

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Upper) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        relay, port = proxy_bench.start_relay(server.server_address[1])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                for word in (b"select", b"one" * 30000):
                    conn.sendall(word)
                    received = b""
                    while len(received) < len(word):
                        received += conn.recv(65536)
                    assert received == word.upper()
        finally:
            relay.terminate()
            relay.wait(10)
            server.shutdown()


def test_the_latency_run_takes_turns_between_the_ways(monkeypatch):
    """Each way's queries go in slices, the ways in turns, so a change of the machine's state mid-run weighs on
    every way alike."""
    calls = []
    monkeypatch.setattr(proxy_bench, "_latencies_ms", lambda conn, n: calls.append((conn, n)) or [float(n)] * n)
    samples, cpu_us = proxy_bench._latency_round({"direct": "d", "relay": "r", "proxy": "p"}, 2000,
                                                 {"proxy": os.getpid(), "direct": None})
    assert calls[:4] == [("d", 100), ("r", 100), ("p", 100), ("d", 100)]
    assert len(calls) == 3 * proxy_bench.SLICES
    assert {way: len(s) for way, s in samples.items()} == {"direct": 2000, "relay": 2000, "proxy": 2000}
    assert list(cpu_us) == ["proxy"] and cpu_us["proxy"] >= 0  # (the ways with a process of their own)
