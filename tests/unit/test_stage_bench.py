"""`make bench`'s stage URL part: what counts as a failure, the summaries, the "flat" verdict, the table."""
from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab_helpers.local.ports import free_port
from lab_helpers.tools import bench, latency, load, proc_samples, soak, stage_bench, stage_report
from lab_helpers.tools.load import Outcome
from lab_helpers.tools.soak import FLAT, FlatLimits
from tests.polling import wait_until

OK_BODY = json.dumps({"statusCode": 200, "body": json.dumps("2024-01-01T00:00:00")}).encode()
MB = 1024  # kB


def sample(pid: int = 10, rss_mb: float = 100.0, threads: int = 5, fds: int = 20) -> dict[str, int]:
    return {"pid": pid, "rss_kb": int(rss_mb * MB), "threads": threads, "fds": fds}


# ---------------------------------------------------------------- what counts as a failure

def test_only_http_200_with_the_handlers_status_code_200_is_a_success():
    assert load.classify(200, OK_BODY) is None
    assert load.classify(502, b'{"message": "Internal server error"}') == "HTTP 502"
    assert load.classify(200, b"<html>") == "HTTP 200, body not JSON"
    error = {"statusCode": 500, "body": json.dumps({"errorType": "OperationalError", "errorMessage": "x"})}
    assert load.classify(200, json.dumps(error).encode()) == "statusCode 500 OperationalError"
    unhandled = {"errorType": "Runtime.ImportModuleError", "errorMessage": "no module"}
    assert load.classify(200, json.dumps(unhandled).encode()) == \
        "HTTP 200, function error Runtime.ImportModuleError"


# ---------------------------------------------------------------- summaries

def test_percentiles_interpolate_between_ranks_and_are_none_without_data():
    assert latency.percentile(range(1, 101), 50) == pytest.approx(50.5)
    assert latency.percentile(range(1, 101), 95) == pytest.approx(95.05)
    assert latency.percentile([7.0], 95) == 7.0
    assert latency.percentile([], 50) is None


def test_latency_summary_counts_failures_by_kind_and_times_only_successes():
    outcomes = [Outcome(float(ms), None) for ms in range(1, 101)]
    outcomes += [Outcome(9000.0, "HTTP 502"), Outcome(0.1, "ConnectionResetError"), Outcome(9000.0, "HTTP 502")]
    summary = latency.latency_summary(outcomes)
    assert summary["requests"] == 103
    assert summary["failures"] == 3
    assert summary["failure_kinds"] == {"HTTP 502": 2, "ConnectionResetError": 1}
    assert (summary["p50_ms"], summary["p95_ms"], summary["mean_ms"], summary["max_ms"]) == (50.5, 95.05, 50.5, 100)


def test_load_summary_gives_requests_per_second_and_survives_all_failures():
    summary = latency.load_summary([Outcome(2.0, None)] * 300, users=20, elapsed_s=30.0)
    assert (summary["users"], summary["requests"], summary["failures"], summary["rps"]) == (20, 300, 0, 10.0)
    assert summary["p50_ms"] == summary["p95_ms"] == 2.0
    failed = latency.load_summary([Outcome(1.0, "ConnectionRefusedError")] * 4, users=2, elapsed_s=2.0)
    assert failed["failures"] == 4
    assert failed["p50_ms"] is None


# ---------------------------------------------------------------- processes and the "flat" verdict

def fake_proc(root, pid: int, rss_kb: int, threads: int, fds: int, state: str = "S (sleeping)") -> None:
    folder = root / str(pid)
    (folder / "fd").mkdir(parents=True)
    (folder / "status").write_text(f"Name:\tpython\nState:\t{state}\nVmRSS:\t {rss_kb} kB\nThreads:\t{threads}\n")
    for n in range(fds):
        (folder / "fd" / str(n)).write_text("")


def test_read_process_reads_rss_threads_and_open_files(tmp_path):
    fake_proc(tmp_path, 42, rss_kb=51200, threads=3, fds=4)
    assert proc_samples.read_process(42, tmp_path) == {"pid": 42, "rss_kb": 51200, "threads": 3, "fds": 4}


def test_read_process_gives_none_for_a_missing_or_zombie_process(tmp_path):
    fake_proc(tmp_path, 43, rss_kb=0, threads=1, fds=0, state="Z (zombie)")
    assert proc_samples.read_process(43, tmp_path) is None
    assert proc_samples.read_process(44, tmp_path) is None


def test_read_process_on_this_process():
    me = proc_samples.read_process(os.getpid())
    assert me is not None
    assert me["rss_kb"] > 1000 and me["threads"] >= 1 and me["fds"] >= 3


def test_every_process_of_the_cloud_is_named_from_its_record_and_health():
    info = {"pid": 100, "endpoint": "http://127.0.0.1:1", "mariadb": {"pid": 101}}
    health = {"proxies": [{"name": "serverless-app-rds-proxy", "pid": 102}, {"name": "starting", "pid": None}],
              "lambda": {"environments": [{"id": "0123456789abcdef", "function": "fn", "pid": 103}]}}
    assert proc_samples.cloud_processes(info, health) == {
        "cloud server (moto + providers)": 100, "MariaDB": 101, "RDS Proxy serverless-app-rds-proxy": 102,
        "Lambda fn env 01234567": 103}


def test_snapshot_says_when_the_cloud_does_not_answer():
    with pytest.raises(RuntimeError, match="does not answer"):
        proc_samples.snapshot({"pid": 1, "endpoint": "http://127.0.0.1:1"}, None)


def test_snapshot_takes_the_median_of_its_reads_so_a_passing_thread_does_not_count(tmp_path):
    reads = iter([(51200, 10, 30), (51300, 14, 36), (51250, 10, 30)])  # the second read: requests in flight
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        rss_kb, threads, fds = next(reads)
        shutil.rmtree(tmp_path / "100", ignore_errors=True)
        fake_proc(tmp_path, 100, rss_kb, threads, fds)

    info = {"pid": 100, "endpoint": "http://127.0.0.1:1"}
    got = proc_samples.snapshot(info, {"proxies": [], "lambda": {"environments": []}}, reads=3, gap=1.0,
                               proc=tmp_path, sleep=sleep)
    assert got == {"cloud server (moto + providers)": {"pid": 100, "rss_kb": 51250, "threads": 10, "fds": 30}}
    assert naps == [1.0, 1.0, 1.0]


def test_rss_trend_is_mb_per_minute_over_every_sample_of_the_process():
    samples = [{"t_s": t, "processes": {"MariaDB": sample(rss_mb=100 + t / 30)}} for t in (0.0, 30.0, 60.0, 90.0)]
    assert soak.rss_trend(samples, "MariaDB") == pytest.approx(2.0, abs=0.01)
    assert soak.rss_trend(samples[:2], "MariaDB") is None  # too few points for a trend
    assert soak.rss_trend(samples, "RDS Proxy p") is None


def test_growth_within_the_limits_is_flat_and_just_beyond_is_not():
    limits = FlatLimits(rss_pct=10, rss_mb=8, threads=2, fds=4)
    start = sample(rss_mb=100, threads=5, fds=20)
    at_limit = sample(rss_mb=100 + 10 + 8, threads=7, fds=24)
    assert soak.compare_process("MariaDB", start, at_limit, limits)["verdict"] == "flat"
    for grown in (sample(rss_mb=118.1), sample(threads=8), sample(fds=25)):
        row = soak.compare_process("MariaDB", start, grown, limits)
        assert row["verdict"] == "GREW", grown
    shrunk = soak.compare_process("MariaDB", start, sample(rss_mb=50, threads=1, fds=3), limits)
    assert shrunk["verdict"] == "flat"
    assert shrunk["growth"] == {"rss_kb": -50 * MB, "threads": -4, "fds": -17}


def test_a_new_pid_is_a_restart_and_missing_ends_are_appeared_or_gone():
    assert soak.compare_process("RDS Proxy p", sample(pid=1), sample(pid=2))["verdict"] == "restarted"
    assert soak.compare_process("Lambda fn env 1", None, sample())["verdict"] == "appeared"
    assert soak.compare_process("Lambda fn env 1", sample(), None)["verdict"] == "gone"


def test_lambda_environments_may_come_and_go_but_other_processes_may_not():
    flat = {"process": "MariaDB", "verdict": "flat"}
    assert soak.soak_verdict([flat, {"process": "Lambda fn env 1", "verdict": "appeared"},
                                     {"process": "Lambda fn env 2", "verdict": "gone"}])
    assert not soak.soak_verdict([flat, {"process": "RDS Proxy p", "verdict": "gone"}])
    assert not soak.soak_verdict([flat, {"process": "Lambda fn env 1", "verdict": "GREW"}])
    assert not soak.soak_verdict([flat, {"process": "RDS Proxy p", "verdict": "restarted"}])


def soak_part(end_server: dict[str, int]) -> dict:
    start = {"cloud server (moto + providers)": sample(pid=1, rss_mb=300, threads=40, fds=50),
             "Lambda fn env aaaaaaaa": sample(pid=2, rss_mb=55),
             "Lambda fn env bbbbbbbb": sample(pid=3, rss_mb=55)}
    end = {"cloud server (moto + providers)": end_server, "Lambda fn env aaaaaaaa": sample(pid=2, rss_mb=56),
           "Lambda fn env cccccccc": sample(pid=4, rss_mb=55)}
    samples = [{"t_s": 0.0, "processes": start}, {"t_s": 180.0, "processes": end}]
    return soak.soak_summary(samples, [Outcome(5.0, None)] * 1000, users=4, elapsed_s=185.0)


def test_soak_summary_lists_each_process_once_in_order_with_its_verdict():
    summary = soak_part(end_server=sample(pid=1, rss_mb=301, threads=40, fds=50))
    assert [(r["process"], r["verdict"]) for r in summary["processes"]] == [
        ("cloud server (moto + providers)", "flat"), ("Lambda fn env aaaaaaaa", "flat"),
        ("Lambda fn env bbbbbbbb", "gone"), ("Lambda fn env cccccccc", "appeared")]
    assert summary["flat"] is True
    assert summary["flat_rule"] == FLAT.describe()
    assert summary["sampled_s"] == 180.0
    assert summary["load"]["rps"] == pytest.approx(5.4, abs=0.1)


# Real samples: one busy Lambda execution environment and the RDS Proxy process (MB), every 10 s under a
# steady load of the stage URL, before and after the trace header fix (trace_env.py).
BEFORE_FIX = [(10, 48.61, 41.39), (20, 48.64, 41.39), (30, 48.7, 41.39), (40, 48.72, 41.39), (51, 48.98, 41.39),
              (61, 49.22, 41.39), (71, 49.37, 41.39), (81, 49.5, 41.39), (91, 49.68, 41.39), (101, 49.83, 41.39),
              (111, 50.0, 41.39), (122, 50.14, 41.39), (132, 50.28, 41.39), (142, 50.45, 41.39), (152, 50.59, 41.39)]
AFTER_FIX = [(10, 48.71, 41.27), (20, 48.93, 41.27), (30, 48.93, 41.27), (40, 48.92, 41.27), (51, 48.92, 41.27),
             (61, 48.92, 41.27), (71, 48.93, 41.27), (81, 48.93, 41.27), (91, 48.92, 41.27), (101, 48.93, 41.27),
             (111, 48.93, 41.27), (121, 48.93, 41.27), (131, 48.92, 41.27), (142, 48.96, 41.27), (152, 48.96, 41.27)]


def measured_soak(points: list[tuple[int, float, float]]) -> dict:
    samples = [{"t_s": float(t - points[0][0]),
                "processes": {"RDS Proxy p": sample(pid=7, rss_mb=proxy, threads=7, fds=17),
                              "Lambda fn env aaaaaaaa": sample(pid=8, rss_mb=env, threads=1, fds=7)}}
               for t, env, proxy in points]
    return {**soak.soak_summary(samples, [Outcome(5.0, None)] * 45000, users=2, elapsed_s=150.0),
            "rate": 300.0}


def test_the_soak_report_of_real_samples_shows_the_growing_environment_by_its_trend():
    before = dict(stage_report.table_rows({"soak": measured_soak(BEFORE_FIX)}))
    assert before["soak: 2 users at 300 req/s, sampled over 142 s"] == \
        "45000 requests, 0 failures, p50 5.0 ms, 300 req/s; flat"
    assert before["  RDS Proxy p"] == "RSS 41.4 -> 41.4 MB (+0.0 MB/min), threads 7 -> 7, files 17 -> 17  flat"
    # 2 MB in 142 s is still within 3% + 1 MB: the trend shows it, the 20-minute soak's ends decide it
    assert before["  Lambda environments, the 1 flat ones"] == \
        "RSS 48.6 -> 50.6 MB in all (largest growth 2.0 MB, steepest +0.9 MB/min), threads 1 -> 1, files 7 -> 7"
    after = dict(stage_report.table_rows({"soak": measured_soak(AFTER_FIX)}))
    assert after["  Lambda environments, the 1 flat ones"] == \
        "RSS 48.7 -> 49.0 MB in all (largest growth 0.2 MB, steepest +0.0 MB/min), threads 1 -> 1, files 7 -> 7"


def test_at_its_rate_the_growth_before_the_fix_is_past_the_limit_in_a_20_minute_soak():
    trend = soak.rss_trend(measured_soak(BEFORE_FIX)["timeline"], "Lambda fn env aaaaaaaa")
    start = sample(pid=8, rss_mb=48.61)
    end = sample(pid=8, rss_mb=48.61 + trend * soak.SOAK_S / 60)
    assert soak.compare_process("Lambda fn env aaaaaaaa", start, end)["verdict"] == "GREW"
    assert soak.compare_process("Lambda fn env aaaaaaaa", start, sample(pid=8, rss_mb=48.96))["verdict"] \
        == "flat"


def test_soak_length_takes_seconds_or_minutes_and_says_what_to_give_otherwise():
    assert [soak.soak_length(text) for text in ("300", "300s", "20m", "20min", "1.5m", "0")] == \
        [300.0, 300.0, 1200.0, 1200.0, 90.0, 0.0]
    for bad in ("", "abc", "-5", "2h"):
        with pytest.raises(ValueError, match=r"give seconds \(SOAK=300\) or minutes \(SOAK=20m\)"):
            soak.soak_length(bad)


# ---------------------------------------------------------------- the table and the targets

def stage_part(p50_ms: float, failures: int, end_server: dict[str, int]) -> dict:
    warm = latency.latency_summary([Outcome(p50_ms, None)] * 300)
    load = [Outcome(30.0, None)] * 3000 + [Outcome(30.0, "HTTP 502")] * failures
    return {"url": "http://x.execute-api.localhost:1/dev", "function": stage_bench.FUNCTION,
            "warm": {**warm, "warmup": 10}, "load": latency.load_summary(load, users=20, elapsed_s=30.0),
            "soak": soak_part(end_server)}


def test_targets_met_when_fast_without_failures_and_flat():
    part = stage_part(p50_ms=4.9, failures=0, end_server=sample(pid=1, rss_mb=300, threads=40, fds=50))
    rows = stage_report.targets(part)
    assert [met for _, _, met in rows] == [True, True, True]
    assert rows[0] == ("stage URL warm latency <= 5 ms (p50, one client)", "4.90 ms", True)
    assert rows[1][0] == "stage URL, 20 concurrent users for 30 s: 0 failures"
    assert rows[1][1] == "0 failures of 3000"
    assert rows[2][1] == "4 processes: 2 flat, 1 gone, 1 appeared"
    assert FLAT.describe() in rows[2][0]


def test_targets_not_met_when_slow_failing_or_growing():
    part = stage_part(p50_ms=5.1, failures=2, end_server=sample(pid=1, rss_mb=340, threads=40, fds=50))
    rows = stage_report.targets(part)
    assert [met for _, _, met in rows] == [False, False, False]
    assert rows[1][1] == "2 failures of 3002 {'HTTP 502': 2}"
    assert "1 GREW" in rows[2][1]


def test_table_shows_each_process_start_and_end_and_groups_flat_lambda_environments():
    part = stage_part(p50_ms=2.0, failures=0, end_server=sample(pid=1, rss_mb=340, threads=41, fds=52))
    lines = dict(stage_report.table_rows(part))
    assert lines["stage URL's function"] == "module3 (the lab's improved handler, as notebook 06 ends)"
    assert lines["stage URL warm latency (300 GETs, 1 client)"] == "p50 2.0 ms   p95 2.0 ms   mean 2.0 ms"
    assert lines["stage URL, 20 users x 30 s"] == \
        "3000 requests, 0 failures, p50 30.0 ms, p95 30.0 ms, 100 req/s"
    assert lines["soak: 4 users, sampled over 180 s"].endswith("NOT flat")
    assert lines["  flat means"] == "RSS growth <= 3% + 1 MB, threads growth <= 2, open files growth <= 4"
    assert lines["  cloud server (moto + providers)"] == \
        "RSS 300.0 -> 340.0 MB, threads 40 -> 41, files 50 -> 52  GREW"
    assert lines["  Lambda fn env bbbbbbbb"] == "gone (pid 3): RSS 55.0 MB, threads 5, files 20"
    assert lines["  Lambda fn env cccccccc"].startswith("appeared (pid 4)")
    assert lines["  Lambda environments, the 1 flat ones"] == \
        "RSS 55.0 -> 56.0 MB in all (largest growth 1.0 MB), threads 5 -> 5, files 20 -> 20"


def test_table_shows_the_memory_trend_when_the_soak_has_enough_samples():
    samples = [{"t_s": t, "processes": {"cloud server (moto + providers)": sample(pid=1, rss_mb=300 + t / 10)}}
               for t in (0.0, 60.0, 120.0, 180.0)]
    summary = soak.soak_summary(samples, [Outcome(5.0, None)] * 10, users=4, elapsed_s=185.0)
    lines = dict(stage_report.table_rows({"soak": summary}))
    assert lines["  cloud server (moto + providers)"] == \
        "RSS 300.0 -> 318.0 MB (+6.0 MB/min), threads 5 -> 5, files 20 -> 20  GREW"


def test_bench_report_includes_the_stage_targets_and_lines():
    report = {"stage": stage_part(p50_ms=7.5, failures=0, end_server=sample(pid=1, rss_mb=300, threads=40,
                                                                           fds=50))}
    report["targets"] = bench.targets(report)
    assert [t["met"] for t in report["targets"]] == [False, True, True]
    shown = bench.table(report)
    assert "[NOT MET] stage URL warm latency <= 5 ms (p50, one client): 7.50 ms" in shown
    assert "[    met] stage URL, 20 concurrent users for 30 s: 0 failures: 0 failures of 3000" in shown
    assert "cloud server (moto + providers)" in shown


# ---------------------------------------------------------------- the simulated users, on a tiny server

class _Stage(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the local cloud's endpoint
    connections: set[int] = set()
    fail_every = 0
    count = 0
    lock = threading.Lock()

    def do_GET(self):
        with self.lock:
            type(self).count += 1
            failing = self.fail_every and self.count % self.fail_every == 0
            type(self).connections.add(id(self.connection))
        body = b'{"message": "Internal server error"}' if failing else OK_BODY
        self.send_response(502 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stage_server():
    _Stage.connections, _Stage.count, _Stage.fail_every = set(), 0, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://abc123.execute-api.localhost:{server.server_address[1]}/dev"
    server.shutdown()
    server.server_close()


def test_users_keep_one_connection_each_and_count_non_200_answers_as_failures(stage_server):
    _Stage.fail_every = 5
    users = load.Load(stage_server, users=3).start()
    wait_until(lambda: len(users.all_outcomes()) >= 15, 10)
    elapsed = users.stop()
    summary = latency.load_summary(users.all_outcomes(), 3, elapsed)
    assert summary["requests"] > 10
    assert summary["failure_kinds"] == {"HTTP 502": summary["failures"]}
    assert summary["failures"] == pytest.approx(summary["requests"] / 5, abs=3)
    assert len(_Stage.connections) == 3  # keep-alive: one connection per user


def test_a_refused_connection_is_a_failure_by_its_exception_and_the_client_tries_again():
    client = load.Client(f"http://127.0.0.1:{free_port()}/dev", timeout=2)
    assert [client.get().failure for _ in range(2)] == ["ConnectionRefusedError"] * 2


def test_warm_latency_measures_after_the_warm_up(stage_server):
    warm = stage_bench.warm_latency(stage_server, requests=20, warmup=3)
    assert (warm["requests"], warm["failures"], warm["warmup"], warm["warmup_failures"]) == (20, 0, 3, 0)
    assert 0 < warm["p50_ms"] <= warm["p95_ms"] <= warm["max_ms"]


def test_a_paced_load_keeps_its_rate_and_does_not_catch_up_in_bursts(stage_server):
    users = load.Load(stage_server, users=2, rate=40.0).start()
    threading.Event().wait(0.5)  # deliberate: the load runs for a stretch of time, whose rate is what is checked
    elapsed = users.stop()
    requests = len(users.all_outcomes())
    assert 5 <= requests <= 40.0 * elapsed + 2  # never above the rate (one request per user may be due at the end)
