"""`make bench`'s stage URL figures: latency, 20 concurrent users, and a soak of the whole local cloud.

    python -m lab_helpers.tools.stage_bench               # this part only, printed (quick iteration)
    python -m lab_helpers.tools.stage_bench --soak 5m     # a shorter soak (seconds, or minutes with m)

On a fresh local cloud of its own with Module 2 and Module 3 set up and the lab's improved Module 3
function deployed (as notebook 06 ends: `module3.deploy_improved_function`; the module's printed
code, which fetches the secret and connects on every call, is notebook 06's Duration figure), against
the `dev` stage's invoke URL (`api.invoke_url`), the module's test request (GET):
- warm latency: a few warm-up requests, then `requests` sequential GETs from one client on one
  keep-alive connection: p50, p95 and mean;
- load: `users` concurrent users for `seconds`, each looping GETs on its own keep-alive
  connection (opened again after any error): requests, failures by kind, p50/p95, requests/s;
- soak: `SOAK_USERS` users at a steady `SOAK_RATE` requests/s in all, for `soak_s` seconds (20
  minutes by default: `make bench SOAK=...` for another length); every process of the cloud (the
  cloud server, MariaDB, each RDS Proxy process, each Lambda execution environment) sampled from
  /proc at the start, every `SAMPLE_EVERY_S` and at the end: resident memory, threads, open files
  (the start and end as the median of `END_READS` reads). The start and end are compared against
  `FLAT` (the "flat" verdict: within a few percent); the resident memory's trend over all samples
  (MB/min) is shown beside it.

A request succeeds only with HTTP 200 and the handler's own `"statusCode": 200` in the body (the
integration is non-proxy: a handler's error result also comes back as HTTP 200). Anything else,
or an exception, is a failure, counted by its kind ("HTTP 502", "statusCode 500 OperationalError",
"ConnectionResetError", ...).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..core import web
from ..local import processes

TARGET_STAGE_P50_MS = 5.0  # the stage URL's warm latency, p50, one client
TARGET_LOAD_FAILURES = 0  # failures of the 20-user run
WARMUP_REQUESTS = 10
WARM_REQUESTS = 300
LOAD_USERS = 20
LOAD_S = 30.0
SOAK_USERS = 4
SOAK_RATE = 150.0  # requests/s of the soak, in all (a steady rate: each user paced, none catching up in bursts)
SOAK_S = 1200.0  # 20 minutes: a growth of 0.1 MB/min in a Lambda environment is past FLAT's limit by the end
SOAK_SETTLE_S = 30.0  # the soak's load runs this long before the start sample (connections, caches, environments)
SAMPLE_EVERY_S = 60.0
END_READS = 5  # the start and end samples: the median of this many reads of /proc ...
READ_GAP_S = 1.0  # ... this many seconds apart (intermediate samples: one read)
REQUEST_TIMEOUT_S = 30.0
FUNCTION = "module3 (the lab's improved handler, as notebook 06 ends)"  # what the stage runs while measured
PROC = Path("/proc")
KB_PER_MB = 1024

Echo = Callable[..., Any]


@dataclass(frozen=True)
class FlatLimits:
    """How much a process may grow between the soak's start and end and still count as flat."""
    rss_pct: float = 3.0  # resident memory: this share of the start ...
    rss_mb: float = 1.0  # ... plus this many MB
    threads: int = 2
    fds: int = 4  # open files (entries of /proc/<pid>/fd)

    def describe(self) -> str:
        """The rule in words, as the table states it."""
        return (f"RSS growth <= {self.rss_pct:g}% + {self.rss_mb:g} MB, threads growth <= {self.threads}, "
                f"open files growth <= {self.fds}")

    def allowed_rss_kb(self, start_kb: int) -> float:
        """How many kB of resident memory a process that started with `start_kb` may gain."""
        return start_kb * self.rss_pct / 100 + self.rss_mb * KB_PER_MB


FLAT = FlatLimits()


# ---------------------------------------------------------------- requests

class Outcome(NamedTuple):
    """One request: its time (ms) and its failure kind (None: it succeeded)."""
    ms: float
    failure: str | None


def classify(status: int, body: bytes) -> str | None:
    """None for the module's success (HTTP 200 with `"statusCode": 200`), else the failure's kind."""
    if status != 200:
        return f"HTTP {status}"
    try:
        result = json.loads(body)
    except ValueError:
        return "HTTP 200, body not JSON"
    code = result.get("statusCode") if isinstance(result, dict) else None
    if code == 200:
        return None
    if code is None:
        error = result.get("errorType") if isinstance(result, dict) else None
        return f"HTTP 200, function error {error}" if error else "HTTP 200, no statusCode"
    try:
        error = json.loads(result.get("body") or "{}").get("errorType")
    except (ValueError, AttributeError):
        error = None
    return f"statusCode {code}" + (f" {error}" if error else "")


class Client:
    """One simulated user: a keep-alive connection to the URL, opened again after any error."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.url, self.timeout = url, timeout
        self._conn: http.client.HTTPConnection | None = None
        self._host = self._path = ""

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self) -> Outcome:
        """One GET of the URL, timed from sending to the end of the body."""
        started = time.perf_counter()
        try:
            if self._conn is None:
                self._conn, self._host, self._path = web.connection(self.url, self.timeout)
            self._conn.request("GET", self._path, headers={"Host": self._host, "User-Agent": "lab-bench",
                                                            "Accept": "*/*"})
            response = self._conn.getresponse()
            body = response.read()
            if response.will_close:
                self.close()
            return Outcome((time.perf_counter() - started) * 1000, classify(response.status, body))
        except Exception as e:  # any exception is a failure of that request, recorded by its kind
            self.close()
            return Outcome((time.perf_counter() - started) * 1000, type(e).__name__)


class Load:
    """`users` threads, each a `Client` looping GETs of the URL until `stop()`: as fast as answers come, or
    at a steady `rate` (requests/s in all): each user sends on its own grid, and one that falls behind
    skips the requests it missed rather than catching up in a burst."""

    def __init__(self, url: str, users: int, rate: float | None = None) -> None:
        self.url, self.users = url, users
        self.interval = users / rate if rate else 0.0  # seconds between one user's requests
        self.outcomes: list[list[Outcome]] = [[] for _ in range(users)]  # one list per user: no lock needed
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._user, args=(i,), name=f"stage-user-{i}", daemon=True)
                         for i in range(users)]
        self._started = self._elapsed = 0.0

    def _user(self, i: int) -> None:
        client = Client(self.url)
        due = time.perf_counter() + self.interval * i / self.users  # the users' grids interleave
        try:
            while not self._stop.is_set():
                if self.interval:
                    if self._stop.wait(max(0.0, due - time.perf_counter())):
                        break
                    due = max(due + self.interval, time.perf_counter())
                self.outcomes[i].append(client.get())
        finally:
            client.close()

    def start(self) -> Load:
        """Start every user; returns self."""
        self._started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> float:
        """Stop every user (requests in flight finish) and return the seconds the load ran."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._elapsed = time.perf_counter() - self._started
        return self._elapsed

    def all_outcomes(self) -> list[Outcome]:
        """Every user's outcomes, in one list."""
        return [o for user in self.outcomes for o in user]


# ---------------------------------------------------------------- summaries (pure)

def percentile(values: Iterable[float], pct: float) -> float | None:
    """The `pct` percentile (0-100) by linear interpolation between the closest ranks; None when empty."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def latency_summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Sequential requests of one client: count, failures, and p50/p95/mean/max of the successful ones (ms)."""
    ok = [o.ms for o in outcomes if o.failure is None]
    return {"requests": len(outcomes), "failures": len(outcomes) - len(ok),
            "failure_kinds": dict(Counter(o.failure for o in outcomes if o.failure)),
            "p50_ms": _ms(percentile(ok, 50)), "p95_ms": _ms(percentile(ok, 95)),
            "mean_ms": _ms(statistics.fmean(ok) if ok else None), "max_ms": _ms(max(ok, default=None))}


def load_summary(outcomes: list[Outcome], users: int, elapsed_s: float) -> dict[str, Any]:
    """A concurrent run: requests, failures by kind, p50/p95 of the successful ones (ms), requests/s."""
    summary = latency_summary(outcomes)
    summary.pop("mean_ms")
    return {"users": users, "seconds": round(elapsed_s, 1), **summary,
            "rps": round(len(outcomes) / elapsed_s, 1) if elapsed_s > 0 else 0.0}


# ---------------------------------------------------------------- the cloud's processes

def read_process(pid: int, proc: Path = PROC) -> dict[str, int] | None:
    """A process's resident memory (kB), threads and open files from /proc; None when it is gone."""
    try:
        fields = processes.status(pid, proc)
        fds = len(os.listdir(proc / str(pid) / "fd"))
        if fields.get("State", "").strip().startswith("Z"):
            return None
        return {"pid": pid, "rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
                "fds": fds}
    except (OSError, KeyError, ValueError, IndexError):
        return None


def cloud_processes(info: dict[str, Any], health: dict[str, Any]) -> dict[str, int]:
    """Every process of the cloud by a label: the server, MariaDB, each RDS Proxy, each Lambda environment."""
    found = {"cloud server (moto + providers)": info["pid"]}
    if (info.get("mariadb") or {}).get("pid"):
        found["MariaDB"] = info["mariadb"]["pid"]
    for proxy in health.get("proxies") or []:
        if proxy.get("pid"):
            found[f"RDS Proxy {proxy['name']}"] = proxy["pid"]
    for env in (health.get("lambda") or {}).get("environments") or []:
        if env.get("pid"):
            found[f"Lambda {env['function']} env {str(env['id'])[:8]}"] = env["pid"]
    return found


def median_sample(reads: list[dict[str, int]]) -> dict[str, int]:
    """Several reads of one process as one sample: the median (low) of each figure, the last pid."""
    return {"pid": reads[-1]["pid"],
            **{key: statistics.median_low(r[key] for r in reads) for key in ("rss_kb", "threads", "fds")}}


def snapshot(info: dict[str, Any], health: dict[str, Any] | None, reads: int = 1, gap: float = 0.0,
             proc: Path = PROC, sleep: Callable[[float], Any] = time.sleep) -> dict[str, dict[str, int]]:
    """Every process of the cloud that is alive: {label: {pid, rss_kb, threads, fds}}.

    `reads` reads `gap` seconds apart (the first too, after the health request), each figure their
    median: the cloud server's threads and open files come and go with every request in flight, the
    median is what the process holds.
    """
    if health is None:
        raise RuntimeError(f"the local cloud at {info['endpoint']} does not answer its health check")
    pids = cloud_processes(info, health)
    found: dict[str, list[dict[str, int]]] = {label: [] for label in pids}
    for _ in range(reads):
        sleep(gap)
        for label, pid in pids.items():
            sample = read_process(pid, proc)
            if sample is not None:
                found[label].append(sample)
    return {label: median_sample(samples) for label, samples in found.items() if samples}


def is_lambda(label: str) -> bool:
    """Whether a process label names a Lambda execution environment (they may come and go)."""
    return label.startswith("Lambda ")


def compare_process(label: str, start: dict[str, int] | None, end: dict[str, int] | None,
                    limits: FlatLimits = FLAT) -> dict[str, Any]:
    """One process at the soak's start and end, with its verdict: flat, GREW, restarted, appeared or gone."""
    row: dict[str, Any] = {"process": label, "start": start, "end": end}
    if start is None or end is None:
        row["verdict"] = "appeared" if start is None else "gone"
        return row
    growth = {key: end[key] - start[key] for key in ("rss_kb", "threads", "fds")}
    row["growth"] = growth
    if start["pid"] != end["pid"]:
        row["verdict"] = "restarted"
    elif (growth["rss_kb"] > limits.allowed_rss_kb(start["rss_kb"]) or growth["threads"] > limits.threads
          or growth["fds"] > limits.fds):
        row["verdict"] = "GREW"
    else:
        row["verdict"] = "flat"
    return row


def rss_trend(samples: list[dict[str, Any]], label: str) -> float | None:
    """A process's resident memory trend over the soak's samples, MB per minute (least squares); None
    with fewer than 3 samples of it."""
    points = [(s["t_s"], s["processes"][label]["rss_kb"]) for s in samples if label in s["processes"]]
    if len(points) < 3 or len({t for t, _ in points}) < 2:
        return None
    slope = statistics.linear_regression([t for t, _ in points], [kb for _, kb in points]).slope
    return round(slope * 60 / KB_PER_MB, 2)


def soak_verdict(rows: list[dict[str, Any]]) -> bool:
    """Flat: every process at both ends is flat, and none but Lambda environments appeared or went.

    A Lambda environment that appears or goes is reported but does not decide (Lambda starts and
    reclaims environments); a restarted process, or a server, database or proxy that went, does.
    """
    for row in rows:
        if row["verdict"] in ("GREW", "restarted"):
            return False
        if row["verdict"] in ("appeared", "gone") and not is_lambda(row["process"]):
            return False
    return True


def soak_summary(samples: list[dict[str, Any]], outcomes: list[Outcome], users: int, elapsed_s: float,
                 limits: FlatLimits = FLAT) -> dict[str, Any]:
    """The soak: the load's figures, each process's start/end with its verdict, the timeline, flat or not.

    `samples` are [{"t_s": seconds since the start sample, "processes": snapshot()}, ...], first to last;
    the verdict compares the first and the last, the trend (MB/min) uses them all.
    """
    start, end = samples[0]["processes"], samples[-1]["processes"]
    labels = list(start) + [label for label in end if label not in start]
    rows = [{**compare_process(label, start.get(label), end.get(label), limits),
             "rss_mb_per_min": rss_trend(samples, label)} for label in labels]
    return {"load": load_summary(outcomes, users, elapsed_s), "sampled_s": samples[-1]["t_s"],
            "flat_rule": limits.describe(), "limits": asdict(limits), "processes": rows,
            "flat": soak_verdict(rows), "timeline": samples}


def soak_length(text: str) -> float:
    """A soak's length as `make bench SOAK=...` gives it: seconds ("300", "300s") or minutes ("20m",
    "20min"); 0 for no soak."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(s|m|min)?\s*", text.lower())
    if found is None:
        raise ValueError(f"SOAK={text!r} is not a length: give seconds (SOAK=300) or minutes (SOAK=20m), "
                         "or SOAK=0 for no soak.")
    return float(found[1]) * (60.0 if found[2] in ("m", "min") else 1.0)


# ---------------------------------------------------------------- the measurements

def warm_latency(url: str, requests: int = WARM_REQUESTS, warmup: int = WARMUP_REQUESTS) -> dict[str, Any]:
    """`warmup` requests, then `requests` sequential GETs from one client on one keep-alive connection."""
    client = Client(url)
    try:
        warm = [client.get() for _ in range(warmup)]
        measured = [client.get() for _ in range(requests)]
    finally:
        client.close()
    return {**latency_summary(measured), "warmup": warmup,
            "warmup_failures": sum(1 for o in warm if o.failure), "first_ms": _ms(warm[0].ms if warm else None)}


def concurrent_users(url: str, users: int = LOAD_USERS, seconds: float = LOAD_S) -> dict[str, Any]:
    """`users` users looping GETs for `seconds`."""
    load = Load(url, users).start()
    time.sleep(seconds)
    elapsed = load.stop()
    return load_summary(load.all_outcomes(), users, elapsed)


def soak(url: str, info: dict[str, Any], seconds: float = SOAK_S, users: int = SOAK_USERS,
         every: float = SAMPLE_EVERY_S, rate: float = SOAK_RATE, echo: Echo = print) -> dict[str, Any]:
    """`users` users at `rate` requests/s in all for `seconds`, every process of the cloud sampled at the
    start, every `every` s and the end.

    Both ends are sampled under the same load (after `SOAK_SETTLE_S` of it, and before it stops),
    so what differs is what the load left behind.
    """
    from ..local import state

    def sample(t: float, reads: int) -> dict[str, Any]:
        return {"t_s": round(t, 1), "processes": snapshot(info, state.health(info["endpoint"]), reads, READ_GAP_S)}

    load = Load(url, users, rate).start()
    try:
        time.sleep(SOAK_SETTLE_S)
        began = time.monotonic()
        samples = [sample(0.0, END_READS)]
        while (left := seconds - (time.monotonic() - began)) > 0:
            time.sleep(min(every - (seconds - left) % every, left))  # on the `every` grid from the start
            t = time.monotonic() - began
            samples.append(sample(t, END_READS if t >= seconds else 1))
            echo(f"soak {t:.0f}/{seconds:.0f} s: {sum(len(u) for u in load.outcomes)} requests")
    finally:
        elapsed = load.stop()
    return {**soak_summary(samples, load.all_outcomes(), users, elapsed), "rate": rate}


def stage(soak_s: float = SOAK_S, users: int = LOAD_USERS, seconds: float = LOAD_S,
          requests: int = WARM_REQUESTS, echo: Echo = print) -> dict[str, Any]:
    """Every figure of this module on a fresh cloud of its own: Module 2 and Module 3 set up, the lab's
    improved function deployed (as notebook 06 ends)."""
    from .. import api, baseline, module3
    from ..core.config import Lab
    from ..local import lifecycle

    with lifecycle.fresh("lab-bench-stage-") as info:
        lab = Lab.local(info["endpoint"])
        started = time.perf_counter()
        baseline.ensure_baseline(lab)
        module3.ensure_module3(lab)
        module3.deploy_improved_function(lab)
        setup_s = time.perf_counter() - started
        url = api.invoke_url(lab)
        echo(f"stage bench: lab set up in {setup_s:.1f} s; {url}")
        warm = warm_latency(url, requests)
        echo(f"stage URL warm latency: p50 {warm['p50_ms']} ms, p95 {warm['p95_ms']} ms, "
             f"{warm['failures']} failures")
        load = concurrent_users(url, users, seconds)
        echo(f"{users} users x {seconds:g} s: {load['requests']} requests, {load['failures']} failures, "
             f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, {load['rps']} req/s")
        out: dict[str, Any] = {"url": url, "function": FUNCTION, "setup_s": round(setup_s, 1), "warm": warm,
                               "load": load}
        if soak_s > 0:
            out["soak"] = soak(url, info, soak_s, echo=echo)
            echo(f"soak: {'flat' if out['soak']['flat'] else 'NOT flat'}")
    return out


# ---------------------------------------------------------------- the table and the targets

def _mb(kb: int) -> str:
    return f"{kb / KB_PER_MB:.1f}"


def process_line(row: dict[str, Any]) -> str:
    """One process of the soak as the table shows it: start -> end of RSS, threads, open files; verdict."""
    start, end = row["start"], row["end"]
    if start is None:
        return f"appeared (pid {end['pid']}): RSS {_mb(end['rss_kb'])} MB, threads {end['threads']}, " \
               f"files {end['fds']}"
    if end is None:
        return f"gone (pid {start['pid']}): RSS {_mb(start['rss_kb'])} MB, threads {start['threads']}, " \
               f"files {start['fds']}"
    trend = row.get("rss_mb_per_min")
    return (f"RSS {_mb(start['rss_kb'])} -> {_mb(end['rss_kb'])} MB"
            + ("" if trend is None else f" ({trend:+.1f} MB/min)")
            + f", threads {start['threads']} -> {end['threads']}, files {start['fds']} -> {end['fds']}  "
            f"{row['verdict']}")


def table_rows(part: dict[str, Any]) -> list[tuple[str, str]]:
    """This part of the report as (label, value) lines for `bench.table()`."""
    rows = []
    if "function" in part:
        rows.append(("stage URL's function", part["function"]))
    if "warm" in part:
        w = part["warm"]
        rows.append((f"stage URL warm latency ({w['requests']} GETs, 1 client)",
                     f"p50 {w['p50_ms']} ms   p95 {w['p95_ms']} ms   mean {w['mean_ms']} ms"
                     + (f"   {w['failures']} failures {w['failure_kinds']}" if w["failures"] else "")))
    if "load" in part:
        n = part["load"]
        rows.append((f"stage URL, {n['users']} users x {n['seconds']:g} s",
                     f"{n['requests']} requests, {n['failures']} failures"
                     + (f" {n['failure_kinds']}" if n["failures"] else "")
                     + f", p50 {n['p50_ms']} ms, p95 {n['p95_ms']} ms, {n['rps']:g} req/s"))
    if "soak" in part:
        s, n = part["soak"], part["soak"]["load"]
        rate = f" at {s['rate']:g} req/s" if s.get("rate") else ""
        rows.append((f"soak: {n['users']} users{rate}, sampled over {s['sampled_s']:g} s",
                     f"{n['requests']} requests, {n['failures']} failures"
                     + (f" {n['failure_kinds']}" if n["failures"] else "")
                     + f", p50 {n['p50_ms']} ms, {n['rps']:g} req/s; {'flat' if s['flat'] else 'NOT flat'}"))
        rows.append(("  flat means", s["flat_rule"]))
        rows.extend((f"  {row['process']}", process_line(row)) for row in s["processes"]
                    if not is_lambda(row["process"]) or row["verdict"] != "flat")
        envs = [row for row in s["processes"] if is_lambda(row["process"]) and row["verdict"] == "flat"]
        if envs:
            rows.append((f"  Lambda environments, the {len(envs)} flat ones", lambda_line(envs)))
    return rows


def lambda_line(rows: list[dict[str, Any]]) -> str:
    """Lambda environments that were there at both ends, in one line: totals at start and end, largest growth
    and steepest memory trend."""
    def total(end: str, key: str) -> int:
        return sum(row[end][key] for row in rows)

    largest = max(row["growth"]["rss_kb"] for row in rows)
    trends = [row["rss_mb_per_min"] for row in rows if row.get("rss_mb_per_min") is not None]
    steepest = f", steepest {max(trends):+.1f} MB/min" if trends else ""
    return (f"RSS {_mb(total('start', 'rss_kb'))} -> {_mb(total('end', 'rss_kb'))} MB in all (largest growth "
            f"{_mb(largest)} MB{steepest}), threads {total('start', 'threads')} -> {total('end', 'threads')}, "
            f"files {total('start', 'fds')} -> {total('end', 'fds')}")


def targets(part: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """This part's targets as (target, measured, met) for `bench.targets()`."""
    out: list[tuple[str, str, bool | None]] = []
    if "warm" in part:
        p50 = part["warm"]["p50_ms"]
        out.append((f"stage URL warm latency <= {TARGET_STAGE_P50_MS:g} ms (p50, one client)",
                    "no successful request" if p50 is None else f"{p50:.2f} ms",
                    p50 is not None and p50 <= TARGET_STAGE_P50_MS))
    if "load" in part:
        n = part["load"]
        out.append((f"stage URL, {n['users']} concurrent users for {n['seconds']:.0f} s: "
                    f"{TARGET_LOAD_FAILURES} failures",
                    f"{n['failures']} failures of {n['requests']}"
                    + (f" {n['failure_kinds']}" if n["failures"] else ""),
                    n["requests"] > 0 and n["failures"] <= TARGET_LOAD_FAILURES))
    if "soak" in part:
        s = part["soak"]
        verdicts = Counter(row["verdict"] for row in s["processes"])
        measured = f"{len(s['processes'])} processes: " + ", ".join(f"{count} {verdict}"
                                                                     for verdict, count in verdicts.items())
        out.append((f"soak of {s['sampled_s']:.0f} s: every process flat ({s['flat_rule']})",
                    measured, s["flat"]))
    return out


def soak_argument(text: str) -> float:
    """`soak_length` for argparse (its message on bad input)."""
    try:
        return soak_length(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.tools.stage_bench`: this part alone, printed (and written to --out if given)."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.stage_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--soak", type=soak_argument, default=SOAK_S,
                        help="the soak's length: seconds (300) or minutes (20m); 0: no soak")
    parser.add_argument("--users", type=int, default=LOAD_USERS, help="concurrent users of the load run")
    parser.add_argument("--seconds", type=float, default=LOAD_S, help="seconds of the load run")
    parser.add_argument("--requests", type=int, default=WARM_REQUESTS, help="sequential GETs of the latency run")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    def echo(*parts: Any, **kwargs: Any) -> None:
        kwargs.setdefault("flush", True)
        print(*parts, **kwargs)

    part = stage(args.soak, args.users, args.seconds, args.requests, echo=echo)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(part, indent=1) + "\n")
    print()
    for label, value in table_rows(part):
        print(f"  {label:<44} {value}")
    print()
    for target, measured, met in targets(part):
        print(f"  [{'met' if met else 'NOT MET':>7}] {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
