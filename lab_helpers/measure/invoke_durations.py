"""1. Duration: warm Lambda Duration (from the REPORT lines) of Module 2's handler, Module 3's code
as printed, and the project's Module 3 handler; and what PyMySQL's default TLS attempt costs.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Any

import pymysql
from pymysql.constants import CLIENT

from .. import secrets
from ..core.config import Lab
from ..local import RunningCloud
from .cloud import cloud_info, require_local
from .functions import checked, delete_measurement_function, deploy_variant, invoke, lambda_client, measured_ms

# The three variants of the function compared in part 1: (key, handler directory, what it does).
VARIANTS = (
    ("module2", "module2", "Module 2: connects to the database inside the handler"),
    ("module3_printed", "module3_printed", "Module 3 as printed: fetches the secret and connects inside the handler"),
    ("module3", "module3", "the project's Module 3: secret and connection at module scope"),
)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def durations(lab: Lab, warm: int = 20) -> list[dict[str, Any]]:
    """Warm Duration of the three variants, taken from Lambda's REPORT lines.

    Each variant is deployed as its own function, invoked once (its cold start, reported apart), then
    `warm` times, the variants taking turns so that any drift of the machine hits them alike.
    One row per variant: {"variant", "function", "description", "cold_ms", "init_ms", "warm_ms",
    "median_ms", "p95_ms", "x_faster_than_slowest"}.
    """
    require_local(lab)
    for key, _, _ in VARIANTS:  # new functions: the first invocation is a cold start, even on a re-run
        delete_measurement_function(lab, key)
    names = {key: deploy_variant(lab, key) for key, _, _ in VARIANTS}
    client = lambda_client(lab)
    first = {key: checked(invoke(client, names[key]), names[key]) for key in names}
    warm_ms: dict[str, list[float]] = {key: [] for key in names}
    for _ in range(warm):
        for key in names:
            warm_ms[key].append(measured_ms(invoke(client, names[key]), names[key]))
    rows: list[dict[str, Any]] = []
    for key, _, description in VARIANTS:
        values = warm_ms[key]
        rows.append({"variant": key, "function": names[key], "description": description,
                     "cold_ms": first[key]["duration_ms"], "init_ms": first[key]["init_ms"],
                     "warm_ms": values, "median_ms": round(statistics.median(values), 2),
                     "p95_ms": round(percentile(values, 95), 2)})
    slowest = max(r["median_ms"] for r in rows)
    for row in rows:
        row["x_faster_than_slowest"] = round(slowest / row["median_ms"], 1) if row["median_ms"] else None
    return rows


def tls_attempt_cost(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None, n: int = 20) -> dict[str, Any]:
    """What PyMySQL's default TLS attempt costs per connection, measured from this process.

    PyMySQL (1.2) tries TLS unless told `ssl_disabled=True`: every connect builds an SSL context,
    loading the system's CA certificates, before it even learns whether the server offers TLS.
    Median of `n` connect + `select now()` + close to the database, with the default and with TLS
    off, and the cost of the SSL context alone; `server_offers_tls` says whether the server offered it.
    """
    import ssl

    cloud = cloud_info(lab, cloud)
    host, port = "127.0.0.1", cloud.record.database.port  # the local database's own address
    password = secrets.database_password(lab)
    offers = []

    def connect_ms(**options: Any) -> float:
        started = time.perf_counter()
        conn = pymysql.connect(host=host, port=int(port), user=lab.names.db_master_user,
                               password=password, connect_timeout=5, **options)
        with conn.cursor() as cur:
            cur.execute("select now()")
            cur.fetchone()
        offers.append(bool(conn.server_capabilities & CLIENT.SSL))  # type: ignore[attr-defined]  # not in types-PyMySQL
        conn.close()
        return (time.perf_counter() - started) * 1000

    def context_ms() -> float:
        started = time.perf_counter()
        ssl.create_default_context()
        return (time.perf_counter() - started) * 1000

    default = [connect_ms() for _ in range(n)]
    disabled = [connect_ms(ssl_disabled=True) for _ in range(n)]
    contexts = [context_ms() for _ in range(n)]
    return {"default_ms": round(statistics.median(default), 2),
            "ssl_disabled_ms": round(statistics.median(disabled), 2),
            "ssl_context_ms": round(statistics.median(contexts), 2), "server_offers_tls": any(offers),
            "connections": n}


def printed_to_project_ratio(rows: list[dict[str, Any]]) -> float:
    """How many times the module's printed Module 3 code's median warm Duration is the project's handler's."""
    by_key = {r["variant"]: r["median_ms"] for r in rows}
    ratio: float = by_key["module3_printed"] / by_key["module3"]
    return round(ratio, 1)
