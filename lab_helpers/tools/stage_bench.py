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

The parts: `load` (the users), `latency` (percentiles and summaries), `proc_samples` (the cloud's processes
from /proc), `soak` (the soak and its verdict), `stage_report` (the table and the targets); this module sets the
lab up and runs them.

A request succeeds only with HTTP 200 and the handler's own `"statusCode": 200` in the body (the
integration is non-proxy: a handler's error result also comes back as HTTP 200). Anything else,
or an exception, is a failure, counted by its kind ("HTTP 502", "statusCode 500 OperationalError",
"ConnectionResetError", ...).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .latency import latency_summary, load_summary, rounded_ms
from .load import Client, Load
from .soak import SOAK_S, Echo, soak, soak_argument
from .stage_report import table_rows, targets

WARMUP_REQUESTS = 10
WARM_REQUESTS = 300
LOAD_USERS = 20
LOAD_S = 30.0
FUNCTION = "module3 (the lab's improved handler, as notebook 06 ends)"  # what the stage runs while measured


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
            "warmup_failures": sum(1 for o in warm if o.failure),
            "first_ms": rounded_ms(warm[0].ms if warm else None)}


def concurrent_users(url: str, users: int = LOAD_USERS, seconds: float = LOAD_S) -> dict[str, Any]:
    """`users` users looping GETs for `seconds`."""
    load = Load(url, users).start()
    time.sleep(seconds)
    elapsed = load.stop()
    return load_summary(load.all_outcomes(), users, elapsed)


def stage(soak_s: float = SOAK_S, users: int = LOAD_USERS, seconds: float = LOAD_S,
          requests: int = WARM_REQUESTS, echo: Echo = print) -> dict[str, Any]:
    """Every figure of this module on a fresh cloud of its own: Module 2 and Module 3 set up, the lab's
    improved function deployed (as notebook 06 ends)."""
    from .. import api, baseline, local, module3
    from ..core.config import Lab

    with local.fresh("lab-bench-stage-") as info:
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
