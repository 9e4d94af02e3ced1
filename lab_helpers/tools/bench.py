"""`make bench`: the measurements of notebook 06, headless, with the lab's own timings.

    python -m lab_helpers.tools.bench                    # everything; writes build/bench.json
    python -m lab_helpers.tools.bench --skip-notebooks   # without the (slowest) lesson run
    python -m lab_helpers.tools.bench --skip-stage       # without the stage URL figures and the soak
    python -m lab_helpers.tools.bench --soak 5m        # a shorter soak (seconds, or minutes with m; make bench SOAK=5m)
    python -m lab_helpers.tools.bench --learners 3       # three learners' runs at once instead of eight
    python -m lab_helpers.tools.bench --skip-classroom   # without the learners' memory and runs at once

Every figure is measured on this run, on clouds of its own (temporary state folders, free
ports), so it never touches a cloud the learner has running:
- the local cloud's start time: `up()` three times, median (the first includes making
  MariaDB's template datadir);
- notebook 06's measurements on a fresh cloud with the lab set up: warm Duration of the three
  variants (repeated, median of the medians), the connection storm, the pinning pitfall and
  the failover;
- the stage URL (`lab_helpers.tools.stage_bench`) on a fresh cloud with the lab set up: warm latency
  (p50, one client), 20 concurrent users for 30 s (failures, p50/p95, requests/s), and a soak at a
  steady rate (`--soak`, 20 minutes by default) with memory, threads and open files of every process
  of the cloud at its start and end (flat or not, by `soak.FLAT`: within a few percent);
- the lesson notebooks run headless with `run_lab.run()` against another fresh cloud, timed;
- the classroom (`lab_helpers.tools.classroom_bench`): one learner's whole cloud's memory (RSS, PSS) after
  notebooks 00-05, how many learners this machine's memory holds, and eight learners' `make lab` of
  00-05 at once (separate state folders, default ports): failures and wall times.
It prints a short table, writes build/bench.json (and the charts to build/bench/), and says
which targets are met. It exits 0 either way: the numbers are the product.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import local, measure
from ..core import paths
from ..core.config import Lab
from . import classroom_bench, proxy_bench, run_lab, soak, stage_bench, stage_report
from .conformance import summary as conformance_summary

BUILD = paths.build_dir()
OUT = BUILD / "bench.json"
CHARTS = BUILD / "bench"

TARGET_START_S = 3.0
TARGET_NOTEBOOKS_S = 60.0
TARGET_RATIO = 10.0


# ---------------------------------------------------------------- the parts

def cloud_start(starts: int = 3, echo: Callable[..., None] = print) -> dict[str, Any]:
    """`up()` `starts` times in one fresh state folder (down in between): each start's seconds and the median."""
    root, port, times = Path(tempfile.mkdtemp(prefix="lab-bench-start-")), local.free_port(), []
    try:
        for _ in range(starts):
            started = time.perf_counter()
            local.up(root, port)
            times.append(round(time.perf_counter() - started, 3))
            local.down(root)
    finally:
        local.down(root)
        shutil.rmtree(root, ignore_errors=True)
    echo(f"local cloud start: {', '.join(f'{t:.2f} s' for t in times)}")
    return {"starts_s": times, "first_s": times[0], "median_s": round(statistics.median(times), 3)}


def measurements(repeats: int = 3, warm: int = 20, echo: Callable[..., None] = print,
                 charts: Path | None = CHARTS) -> dict[str, Any]:
    """Notebook 06's measurements on a fresh cloud of their own, then everything they changed put back."""
    with local.fresh("lab-bench-measure-") as info:
        lab = Lab.local(info["endpoint"])
        started = time.perf_counter()
        missing = measure.prepare(lab)
        if missing:
            raise RuntimeError(f"the lab is not ready for the measurements: {missing}")
        echo(f"lab set up in {time.perf_counter() - started:.1f} s")
        runs = []
        for n in range(repeats):
            runs.append(measure.durations(lab, warm=warm))
            echo(f"durations {n + 1}/{repeats}: "
                 + ", ".join(f"{r['variant']} {r['median_ms']:.2f} ms" for r in runs[-1]))
        tls = measure.tls_attempt_cost(lab, info)
        auth = measure.token_vs_secret(lab, warm=warm)
        echo("IAM token vs secret: " + ", ".join(f"{r['variant']} cold {r['cold_ms']:.1f} ms, "
                                                  f"warm {r['median_ms']:.2f} ms" for r in auth))
        storm = measure.storm(lab, info)
        echo("storm: " + ", ".join(f"{m} {r['successes']} ok / {r['errors']} errors" for m, r in storm["runs"].items()))
        pinning = measure.pinning(lab, info)
        echo("pinning: " + ", ".join(f"{m} {r['successes']} ok / {r['errors']} errors"
                                     for m, r in pinning["runs"].items()))
        failover = measure.failover(lab, info)
        echo("failover: " + ", ".join(f"{m} outage {c['outage_s']} s" for m, c in failover["clients"].items()))
        removed = measure.remove_measurement_resources(lab)
        restored = measure.current_settings(lab, info)
        if charts is not None:
            _save_charts(charts, runs[len(runs) // 2], storm, pinning, failover)
    return {"durations": _durations_summary(runs, warm), "tls_attempt": tls, "iam_auth": auth_summary(auth),
            "storm": _storm_summary(storm),
            "pinning": _pinning_summary(pinning), "failover": _failover_summary(failover),
            "restored": {"settings": restored, "removed": removed}}


def lesson(echo: Callable[..., None] = print) -> dict[str, Any]:
    """The lesson notebooks as `make lab` runs them (`run_lab.run()`), against a fresh cloud of their own."""
    started = time.perf_counter()
    with local.fresh("lab-bench-lesson-", export=True):
        up_s = time.perf_counter() - started
        started = time.perf_counter()
        try:
            times, failed = run_lab.run(out_dir=BUILD / "bench" / "notebooks", echo=echo), None
        except run_lab.NotebookFailed as e:
            times, failed = [], str(e)
        wall = time.perf_counter() - started
    return {"notebooks_s": round(wall, 2), "cloud_up_s": round(up_s, 2), "failed": failed,
            "per_notebook_s": {name: round(seconds, 2) for name, seconds in times}}


# ---------------------------------------------------------------- summaries (what goes into bench.json)

def _durations_summary(runs: list[list[dict[str, Any]]], warm: int) -> dict[str, Any]:
    variants = {}
    for key, _, description in measure.VARIANTS:
        rows = [next(r for r in run if r["variant"] == key) for run in runs]
        variants[key] = {"description": description,
                         "median_ms": round(statistics.median(r["median_ms"] for r in rows), 2),
                         "p95_ms": round(statistics.median(r["p95_ms"] for r in rows), 2),
                         "cold_ms": round(statistics.median(r["cold_ms"] for r in rows), 2),
                         "runs": [{"median_ms": r["median_ms"], "p95_ms": r["p95_ms"]} for r in rows]}
    ratios = [measure.printed_to_project_ratio(run) for run in runs]
    return {"repeats": len(runs), "warm_invocations": warm, "variants": variants,
            "printed_to_project_ratio": round(statistics.median(ratios), 1), "ratios": ratios}


def auth_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Cold and warm Duration with the secret and with an IAM token (notebook 08), and the token's extra cost."""
    by = {r["variant"]: {k: r[k] for k in ("description", "cold_ms", "init_ms", "median_ms", "p95_ms")} for r in rows}
    secret, token = by["module3"], by["iam_auth"]
    return {"secret": secret, "token": token, "cold_extra_ms": round(token["cold_ms"] - secret["cold_ms"], 2),
            "warm_extra_ms": round(token["median_ms"] - secret["median_ms"], 2)}


def _storm_summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("invocations", "successes", "errors", "error_codes", "threads_before", "peak_db_threads")
    out = {key: result[key] for key in ("concurrency", "max_connections", "pool_size", "max_connections_percent",
                                        "borrow_timeout_s", "hold_s")}
    for mode, run in result["runs"].items():
        out[mode] = {key: run[key] for key in keep}
    out["proxy"]["peak_backend_open"] = result["runs"]["proxy"]["peak_backend_open"]
    out["peak_backend_connections"] = result["runs"]["proxy"]["peak_backend_open"]
    return out


def _pinning_summary(result: dict[str, Any]) -> dict[str, Any]:
    out = {key: result[key] for key in ("concurrency", "pool_size", "borrow_timeout_s", "fix")}
    for label, run in result["runs"].items():
        out[label] = {"successes": run["successes"], "errors": run["errors"], "error_codes": run["error_codes"],
                      "bystander_ok": run["bystander"]["ok"], "bystander_error_code": run["bystander"]["error_code"]}
    return out


def _failover_summary(result: dict[str, Any]) -> dict[str, Any]:
    out = {"restart_s": result["restart_s"]}
    for mode, client in result["clients"].items():
        out[mode] = {key: client[key] for key in ("invocations", "successes", "errors", "error_codes", "outage_s")}
    return out


def _save_charts(folder: Path, durations: list[dict[str, Any]], storm: dict[str, Any], pinning: dict[str, Any],
                 failover: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in (("durations", measure.chart_durations(durations)), ("storm", measure.chart_storm(storm)),
                         ("pinning", measure.chart_pinning(pinning)), ("failover", measure.chart_failover(failover))):
        figure.savefig(folder / f"{name}.png", dpi=100)
        plt.close(figure)


# ---------------------------------------------------------------- targets and the table

def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: what was measured and whether it is met (None: not measured this run)."""
    rows = []

    def add(name: str, value: str, met: bool | None) -> None:
        rows.append({"target": name, "measured": value, "met": met})

    if "cloud_start" in report:
        start = report["cloud_start"]["median_s"]
        add(f"local cloud starts in <= {TARGET_START_S:g} s", f"{start:.2f} s (median)", start <= TARGET_START_S)
    if "durations" in report:
        ratio = report["durations"]["printed_to_project_ratio"]
        add(f"project's handler >= {TARGET_RATIO:g}x faster than the printed Module 3 code (warm Duration)",
            f"{ratio:g}x", ratio >= TARGET_RATIO)
    if "storm" in report:
        s = report["storm"]
        add("storm through the proxy: zero errors", f"{s['proxy']['errors']} errors", s["proxy"]["errors"] == 0)
        add("storm through the proxy: peak backend connections <= pool size",
            f"{s['peak_backend_connections']} <= {s['pool_size']}", s["peak_backend_connections"] <= s["pool_size"])
        add("storm directly: errors > 0", f"{s['direct']['errors']} errors {s['direct']['error_codes']}",
            s["direct"]["errors"] > 0)
    if "proxy" in report:
        for name, value, passed in proxy_bench.targets(report["proxy"]):
            add(name, value, passed)
    if "stage" in report:
        for name, value, met in stage_report.targets(report["stage"]):
            add(name, value, met)
    if "classroom" in report:
        for name, value, met in classroom_bench.targets(report["classroom"]):
            add(name, value, met)
    if "lesson" in report:
        wall, failed = report["lesson"]["notebooks_s"], report["lesson"]["failed"]
        add(f"all notebooks run headless in <= {TARGET_NOTEBOOKS_S:g} s",
            f"failed: {failed}" if failed else f"{wall:.1f} s", not failed and wall <= TARGET_NOTEBOOKS_S)
    return rows


def table(report: dict[str, Any]) -> str:
    """The report as the terminal shows it: one line per figure, then each target met or NOT MET."""
    lines = []

    def row(label: str, value: str) -> None:
        lines.append(f"  {label:<44} {value}")

    if "cloud_start" in report:
        c = report["cloud_start"]
        row("local cloud start (median of 3)", f"{c['median_s']:.2f} s (first {c['first_s']:.2f} s)")
    if "durations" in report:
        d = report["durations"]
        for key, v in d["variants"].items():
            row(f"warm Duration {key}", f"median {v['median_ms']:8.2f} ms   p95 {v['p95_ms']:8.2f} ms")
        row("printed Module 3 / project's handler", f"{d['printed_to_project_ratio']:g}x")
    if "tls_attempt" in report:
        t = report["tls_attempt"]
        row("PyMySQL connect+query+close, default TLS",
            f"{t['default_ms']:.2f} ms (TLS off {t['ssl_disabled_ms']:.2f} ms)")
    if "iam_auth" in report:
        a = report["iam_auth"]
        for key, label in (("secret", "the secret"), ("token", "an IAM token (08)")):
            v = a[key]
            row(f"Duration with {label}", f"cold {v['cold_ms']:7.2f} ms (init {v['init_ms']:6.1f} ms)   "
                                          f"warm median {v['median_ms']:6.2f} ms")
        row("the token's extra cost", f"cold {a['cold_extra_ms']:+.2f} ms, warm {a['warm_extra_ms']:+.2f} ms")
    if "storm" in report:
        s = report["storm"]
        head = f"storm: {s['concurrency']} concurrent, max_connections {s['max_connections']}, pool {s['pool_size']}"
        lines.append(f"  {head}")
        row("  direct", f"{s['direct']['successes']} ok, {s['direct']['errors']} errors {s['direct']['error_codes']}, "
                        f"peak DB connections {s['direct']['peak_db_threads']}")
        row("  via the proxy", f"{s['proxy']['successes']} ok, {s['proxy']['errors']} errors, "
                               f"peak backend connections {s['peak_backend_connections']}")
    if "pinning" in report:
        p = report["pinning"]
        row(f"pinning (pool {p['pool_size']}, {p['concurrency']} concurrent)",
            f"no commit: {p['no_commit']['errors']} errors {p['no_commit']['error_codes']}; "
            f"fix ({p['fix']}): {p['fixed']['errors']} errors")
    if "failover" in report:
        f = report["failover"]
        row(f"failover (restart {f['restart_s']:.2f} s)",
            f"direct outage {f['direct']['outage_s']} s, proxy outage {f['proxy']['outage_s']} s")
    if "proxy" in report:
        for label, value in proxy_bench.table_rows(report["proxy"]):
            row(label, value)
    if "stage" in report:
        for label, value in stage_report.table_rows(report["stage"]):
            row(label, value)
    if "lesson" in report:
        n = report["lesson"]
        row(f"lesson notebooks ({len(n['per_notebook_s'])})",
            f"FAILED: {n['failed']}" if n["failed"] else f"{n['notebooks_s']:.1f} s")
    if "classroom" in report:
        for label, value in classroom_bench.table_rows(report["classroom"]):
            row(label, value)
    for suite, c in report.get("conformance", {}).items():  # the last `make conformance`
        row(f"{suite}'s suite direct / via the proxy", f"{c['direct']} / {c['proxy']} passed/failed/skipped; "
                                                        f"{c['proxy_only']} fail only via the proxy "
                                                        f"({c['unexplained']} unexplained)")
    lines.append("")
    for t in report.get("targets", []):
        verdict = "met" if t["met"] else "NOT MET"
        lines.append(f"  [{verdict:>7}] {t['target']}: {t['measured']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.tools.bench`: measure, write build/bench.json, print the table."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of the Duration measurement (median)")
    parser.add_argument("--warm", type=int, default=20, help="warm invocations per variant and repetition")
    parser.add_argument("--skip-start", action="store_true", help="do not time the local cloud's start")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not run the lesson notebooks")
    parser.add_argument("--skip-stage", action="store_true", help="do not measure the stage URL (nor soak)")
    parser.add_argument("--soak", type=soak.soak_argument, default=soak.SOAK_S,
                        help="the stage URL soak's length: seconds (300) or minutes (20m); 0: no soak")
    parser.add_argument("--skip-classroom", action="store_true",
                        help="do not measure one learner's memory nor learners' runs at once")
    parser.add_argument("--learners", type=int, default=classroom_bench.LEARNERS,
                        help="learners' make lab runs at once (fewer when the memory holds fewer)")
    args = parser.parse_args(argv)

    def echo(*parts: object, **kwargs: Any) -> None:
        kwargs.setdefault("flush", True)
        print(*parts, **kwargs)

    report: dict[str, Any] = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    started = time.perf_counter()
    if not args.skip_start:
        report["cloud_start"] = cloud_start(echo=echo)
    report["proxy"] = proxy_bench.proxy_speed(echo=echo)
    report.update(measurements(args.repeats, args.warm, echo=echo))
    if not args.skip_stage:
        report["stage"] = stage_bench.stage(soak_s=args.soak, echo=echo)
    if not args.skip_notebooks:
        report["lesson"] = lesson(echo=echo)
    if not args.skip_classroom:
        report["classroom"] = classroom_bench.classroom(args.learners, echo=echo)
    if (conformance := conformance_summary()) is not None:  # written by `make conformance`, when it ran
        report["conformance"] = conformance
    report["bench_s"] = round(time.perf_counter() - started, 1)
    report["targets"] = targets(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print()
    print(table(report))
    where = paths.shown(args.out)
    print(f"\nwrote {where} ({report['bench_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
