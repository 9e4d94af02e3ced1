"""The stage URL's soak: a steady load for a long time, every process of the cloud sampled from /proc at its start,
on a grid and at its end, and the verdict: flat (within `FLAT`'s few percent) or not, with each process's trend."""
from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .latency import load_summary
from .load import Load, Outcome
from .proc_samples import KB_PER_MB, is_lambda, snapshot

SOAK_USERS = 4
SOAK_RATE = 150.0  # requests/s of the soak, in all (a steady rate: each user paced, none catching up in bursts)
SOAK_S = 1200.0  # 20 minutes: a growth of 0.1 MB/min in a Lambda environment is past FLAT's limit by the end
SOAK_SETTLE_S = 30.0  # the soak's load runs this long before the start sample (connections, caches, environments)
SAMPLE_EVERY_S = 60.0
END_READS = 5  # the start and end samples: the median of this many reads of /proc ...
READ_GAP_S = 1.0  # ... this many seconds apart (intermediate samples: one read)

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


def soak(url: str, info: dict[str, Any], seconds: float = SOAK_S, users: int = SOAK_USERS,
         every: float = SAMPLE_EVERY_S, rate: float = SOAK_RATE, echo: Echo = print) -> dict[str, Any]:
    """`users` users at `rate` requests/s in all for `seconds`, every process of the cloud sampled at the
    start, every `every` s and the end.

    Both ends are sampled under the same load (after `SOAK_SETTLE_S` of it, and before it stops),
    so what differs is what the load left behind.
    """
    from ..local import health_at

    def sample(t: float, reads: int) -> dict[str, Any]:
        return {"t_s": round(t, 1), "processes": snapshot(info, health_at(info["endpoint"]).raw, reads, READ_GAP_S)}

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


def soak_argument(text: str) -> float:
    """`soak_length` for argparse (its message on bad input)."""
    try:
        return soak_length(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
