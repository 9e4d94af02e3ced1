import pytest

from lab_helpers import iam, lambda_fn, network, proxy, rds, secrets
from lab_helpers.baseline import ensure_baseline
from lab_helpers.diagnose import check_module3, explain
from lab_helpers.module3 import ensure_module3

STEPS = ["01_secrets_manager"] + ["02_vpc_endpoint"] * 3 + ["03_rds_proxy"] * 3 + ["04_lambda_update"] * 4


def failed(rows):
    """(step, position) of each failed check."""
    return [(row["step"], n) for n, row in enumerate(rows) if not row["ok"]]


def test_everything_is_ready_after_module3(lab, calls):
    ensure_baseline(lab)
    ensure_module3(lab)
    calls.clear()
    rows = check_module3(lab)
    assert [row["step"] for row in rows] == STEPS
    assert all(row["ok"] and row["fix"] == "" and row["check"] for row in rows)
    assert explain(rows) == ""
    assert calls.mutating() == []


def test_an_empty_account_fails_every_check_without_an_error(lab):
    rows = check_module3(lab)
    assert not any(row["ok"] for row in rows)
    assert all(row["fix"] == f"{row['step']} 노트북을 다시 실행하세요." for row in rows)
    text = explain(rows)
    assert text.splitlines()[0] == f"준비되지 않은 항목이 {len(rows)}개 있습니다:"
    assert text.splitlines()[-1].startswith("뒤 노트북은 앞 노트북이 만든 것을 사용하므로, 01_secrets_manager 노트북부터")


def turn_dns_hostnames_off(lab):
    lab.client("ec2").modify_vpc_attribute(VpcId=network.vpc_id(lab), EnableDnsHostnames={"Value": False})


def put_module2_code_back(lab):
    db_host = rds.find_db_instance(lab)["host"]
    lambda_fn.ensure_function(lab, lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db_host}))


BREAKAGES = [
    # the function's policy names the secret's ARN, so it no longer matches either
    (secrets.delete_secret, [("01_secrets_manager", 0), ("04_lambda_update", 7)]),
    (turn_dns_hostnames_off, [("02_vpc_endpoint", 1)]),
    (network.delete_secrets_endpoint, [("02_vpc_endpoint", 3)]),
    (network.revoke_rds_sg_self, [("03_rds_proxy", 4)]),
    (proxy.delete_proxy, [("03_rds_proxy", 5), ("03_rds_proxy", 6), ("04_lambda_update", 9)]),
    (iam.delete_function_secret_policy, [("04_lambda_update", 7)]),
    (put_module2_code_back, [("04_lambda_update", 8), ("04_lambda_update", 9)]),
]


@pytest.mark.parametrize("breaks, expected", BREAKAGES, ids=[breaks.__name__ for breaks, _ in BREAKAGES])
def test_a_broken_step_names_the_notebook_to_run_again(lab, breaks, expected):
    ensure_baseline(lab)
    ensure_module3(lab)
    breaks(lab)
    rows = check_module3(lab)
    assert failed(rows) == expected
    first_step = expected[0][0]
    assert rows[expected[0][1]]["fix"] == f"{first_step} 노트북을 다시 실행하세요."
    text = explain(rows)
    assert f"- [{first_step}] {rows[expected[0][1]]['check']}: {first_step} 노트북을 다시 실행하세요." in text
    assert f"{first_step} 노트북부터 순서대로 다시 실행하세요." in text


def test_a_target_that_is_not_available_fails_its_check(lab, monkeypatch):
    ensure_baseline(lab)
    ensure_module3(lab)
    monkeypatch.setattr(proxy, "_targets", lambda _: [{"db": "serverless-app-rds", "type": "RDS_INSTANCE",
                                                       "state": "UNAVAILABLE", "reason": "AUTH_FAILURE"}])
    assert failed(check_module3(lab)) == [("03_rds_proxy", 6)]
