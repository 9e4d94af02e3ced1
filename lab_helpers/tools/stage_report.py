"""`make bench`'s stage URL part as the table shows it, and its targets."""
from __future__ import annotations

from collections import Counter
from typing import Any

from .proc_samples import KB_PER_MB, is_lambda

TARGET_STAGE_P50_MS = 5.0  # the stage URL's warm latency, p50, one client
TARGET_LOAD_FAILURES = 0  # failures of the 20-user run


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
