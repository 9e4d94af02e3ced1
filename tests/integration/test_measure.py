"""Notebook 06's measurements on the local cloud: the shape and the signs of what they measure, never speed.

Speed (the ratio of the Duration medians, start and run times) is what `make bench` reports; a test
that timed it would fail on a slow or busy machine for the wrong reason.
"""
from __future__ import annotations

import boto3
import matplotlib
import pytest

from lab_helpers import iam, iam_db_auth, lambda_fn, measure
from lab_helpers.cleanup import ALREADY_GONE, DELETED
from lab_helpers.core.config import Lab
from lab_helpers.tools import bench
from tests.integration.conftest import DB_TIME_ZONE, admin_query

matplotlib.use("Agg")

CONCURRENCY = 16
MAX_CONNECTIONS = 10


@pytest.fixture(scope="module")
def measured(lab, cloud):
    """Every measurement once, in the notebook's order, then everything put back."""
    assert measure.prepare(lab) == []
    before = measure.current_settings(lab, cloud)
    results: dict = {"before": before}
    try:
        results["durations"] = measure.durations(lab, warm=5)
        results["tls"] = measure.tls_attempt_cost(lab, cloud, n=3)
        results["iam_auth"] = measure.token_vs_secret(lab, warm=3)
        results["storm"] = measure.storm(lab, cloud, concurrency=CONCURRENCY, max_connections=MAX_CONNECTIONS,
                                         pool_percent=50, hold_s=0.3)
        results["lowered"] = measure.current_settings(lab, cloud)
        results["pinning"] = measure.pinning(lab, cloud, borrow_timeout_s=1)
        results["failover"] = measure.failover(lab, cloud, before_s=0.5, after_s=1.0)
    finally:
        results["removed"] = measure.remove_measurement_resources(lab)
        admin_query(cloud["root"], f"SET GLOBAL time_zone = '{DB_TIME_ZONE}'")  # a test-only setting, lost on restart
    results["after"] = measure.current_settings(lab, cloud)
    return results


def test_three_variants_each_with_a_positive_median_and_p95(measured):
    rows = measured["durations"]
    assert [r["variant"] for r in rows] == ["module2", "module3_printed", "module3"]
    for row in rows:
        assert len(row["warm_ms"]) == 5 and all(ms > 0 for ms in row["warm_ms"])
        assert 0 < row["median_ms"] <= row["p95_ms"]
        assert row["cold_ms"] > 0 and row["init_ms"] > 0  # the first invocation was a cold start
    slowest = max(r["median_ms"] for r in rows)
    assert [r["x_faster_than_slowest"] for r in rows] == [round(slowest / r["median_ms"], 1) for r in rows]
    by_variant = {r["variant"]: r["median_ms"] for r in rows}
    assert measure.printed_to_project_ratio(rows) == round(by_variant["module3_printed"] / by_variant["module3"], 1)


def test_a_token_and_the_secret_each_give_a_cold_start_and_warm_durations(measured, lab):
    rows = measured["iam_auth"]
    assert [r["variant"] for r in rows] == ["module3", "iam_auth"]
    for row in rows:
        assert row["cold_ms"] > 0 and row["init_ms"] > 0  # a new function: its first invocation was a cold start
        assert 0 < row["median_ms"] <= row["p95_ms"]
    summary = bench.auth_summary(rows)
    assert summary["cold_extra_ms"] == round(rows[1]["cold_ms"] - rows[0]["cold_ms"], 2)
    # and the proxy is back as it was: the secret's user logs in with its password, the token policy gone
    assert iam_db_auth.iam_auth_mode(lab) == "DISABLED" and iam.find_function_connect_policy(lab) is None
    assert lambda_fn.find_function(lab, measure.token_function(lab)) is None


def test_the_tls_attempt_is_measured_against_a_server_without_tls(measured):
    tls = measured["tls"]
    assert tls["default_ms"] > 0 and tls["ssl_disabled_ms"] > 0 and tls["ssl_context_ms"] > 0
    assert tls["server_offers_tls"] is False


def test_storm_lowered_the_database_and_sized_the_pool(measured, lab):
    storm, lowered = measured["storm"], measured["lowered"]
    assert (storm["concurrency"], storm["max_connections"], storm["pool_size"]) == (CONCURRENCY, MAX_CONNECTIONS, 5)
    assert lowered["max_connections"] == MAX_CONNECTIONS
    assert lowered["parameter_group"] == measure.parameter_group_name(lab)
    assert lowered["max_connections_percent"] == 50


def test_storm_directly_gets_too_many_connections(measured):
    direct = measured["storm"]["runs"]["direct"]
    assert direct["successes"] + direct["errors"] == CONCURRENCY
    assert direct["errors"] > 0
    assert set(direct["error_codes"]) == {"1040"}
    assert 0 < direct["peak_db_threads"] <= MAX_CONNECTIONS + 1  # MariaDB admits one more SUPER connection
    assert direct["threads"] and all(t >= 0 and n >= 0 for t, n in direct["threads"])


def test_storm_through_the_proxy_all_succeed_within_the_pool(measured):
    """Lesson level: 06's storm from Lambda, the pool sized through the RDS API; the bench's
    test_a_storm_through_the_proxy_never_exceeds_the_pool covers the pool's bound itself, rows checked."""
    storm = measured["storm"]
    via_proxy = storm["runs"]["proxy"]
    assert (via_proxy["successes"], via_proxy["errors"], via_proxy["error_codes"]) == (CONCURRENCY, 0, {})
    assert 0 < via_proxy["peak_backend_open"] <= storm["pool_size"]
    assert via_proxy["peak_db_threads"] <= storm["pool_size"]
    assert via_proxy["borrow_timeouts"] == 0


def test_a_handler_that_never_commits_causes_borrow_timeouts_and_the_fix_ends_them(measured):
    pinned = measured["pinning"]
    held, fixed = pinned["runs"]["no_commit"], pinned["runs"]["fixed"]
    assert pinned["concurrency"] == pinned["pool_size"] + 2
    assert held["errors"] > 0 and set(held["error_codes"]) == {"9501"}
    assert held["backend_in_use_after"] == pinned["pool_size"]  # every pooled connection held
    assert held["bystander"]["ok"] is False and held["bystander"]["error_code"] == 9501  # the innocent function too
    assert (fixed["successes"], fixed["errors"]) == (pinned["concurrency"], 0)
    assert fixed["backend_in_use_after"] == 0
    assert fixed["bystander"]["ok"] is True


def test_failover_both_clients_recover_after_the_restart(measured):
    failover = measured["failover"]
    assert 0 <= failover["reboot_start_s"] < failover["reboot_end_s"]
    assert set(failover["clients"]) == {"direct", "proxy"}
    for client in failover["clients"].values():
        assert client["invocations"] == client["successes"] + client["errors"] > 0
        assert client["timeline"][-1]["ok"] is True  # working again at the end
        assert client["outage_s"] is not None and client["outage_s"] >= 0


def test_everything_is_put_back(measured, lab, cloud):
    before, after = measured["before"], measured["after"]
    assert after == before  # max_connections, parameter group, pool percent and borrow timeout
    assert admin_query(cloud["root"], "SELECT @@GLOBAL.max_connections")[0][0] == before["max_connections"]
    assert {r["result"] for r in measured["removed"]} <= {DELETED, ALREADY_GONE}
    functions = measure.function_names(lab)
    assert {r["name"] for r in measured["removed"]} == {measure.parameter_group_name(lab), *functions,
                                                        *(f"/aws/lambda/{name}" for name in functions)}
    assert measure.measurement_leftovers(lab) == []
    names = {f["FunctionName"] for f in lab.client("lambda").list_functions()["Functions"]}
    assert not names & set(measure.function_names(lab))
    assert lab.names.function in names  # the lab's own function is untouched
    again = measure.remove_measurement_resources(lab)
    assert {r["result"] for r in again} == {ALREADY_GONE}


def test_charts_and_tables_draw_from_the_results(measured):
    from matplotlib.figure import Figure

    for figure in (measure.chart_durations(measured["durations"]), measure.chart_storm(measured["storm"]),
                   measure.chart_pinning(measured["pinning"]), measure.chart_failover(measured["failover"])):
        assert isinstance(figure, Figure)
    table = measure.html_table(measured["durations"], [("variant", "variant"), ("median_ms", "median")])
    assert "module3_printed" in table.data and repr(table) == "<IPython.core.display.HTML object>"


def test_the_benchmark_reports_targets_from_its_measurements(measured):
    report = {"durations": bench._durations_summary([measured["durations"]], 5),
              "storm": bench._storm_summary(measured["storm"])}
    report["targets"] = bench.targets(report)
    met = {t["target"]: t["met"] for t in report["targets"]}
    assert met["storm through the proxy: zero errors"] is True
    assert met["storm directly: errors > 0"] is True
    assert met["storm through the proxy: peak backend connections <= pool size"] is True
    assert "printed Module 3 / project's handler" in bench.table(report)


def test_the_measurements_refuse_the_aws_target():
    aws = Lab(target="aws", session=boto3.Session(region_name="ap-northeast-2"))
    with pytest.raises(measure.LocalOnly):
        measure.storm(aws)


def test_settings_left_lowered_by_an_interrupted_run_are_put_back(measured, lab, cloud):
    before = measure.current_settings(lab, cloud)
    measure.lower_connections(lab, cloud, max_connections=12, pool_percent=20, borrow_timeout_s=3)
    again = measure.lower_connections(lab, cloud, max_connections=11)  # a re-run keeps the first run's record
    assert (again["max_connections"], again["pool_size"]) == (11, 5)
    assert measure.replaced_settings(lab)["max_connections"] == before["max_connections"]
    rows = measure.remove_measurement_resources(lab)  # what 99_cleanup runs
    assert {"resource": "DB 파라미터 그룹 (측정용)", "name": measure.parameter_group_name(lab),
            "result": DELETED} in rows
    assert measure.current_settings(lab, cloud) == before
