import pytest

from lab_helpers import iam, lambda_fn, network, proxy, rds, secrets
from lab_helpers.baseline import ensure_baseline
from lab_helpers.diagnose import check_module3, explain
from lab_helpers.module3 import ensure_module3

STEPS = ["01_secrets_manager"] * 2 + ["02_vpc_endpoint"] * 4 + ["03_rds_proxy"] * 3 + ["04_lambda_update"] * 5


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


def test_the_improved_function_from_06_passes_too(lab):
    from lab_helpers import module3

    ensure_baseline(lab)
    ensure_module3(lab)
    module3.deploy_improved_function(lab)
    assert failed(check_module3(lab)) == []


def test_an_empty_account_fails_every_check_without_an_error(lab):
    rows = check_module3(lab)
    # what holds of nothing (rotation off, the endpoint's placement, no improved function's variables) is not
    # asked twice
    assert [n for n, row in enumerate(rows) if row["ok"]] == [1, 5, 12]
    rows = [row for row in rows if not row["ok"]]
    assert all(row["fix"] == f"{row['step']} 노트북을 다시 실행하세요." for row in rows)
    text = explain(rows)
    assert text.splitlines()[0] == f"준비되지 않은 항목이 {len(rows)}개 있습니다:"
    assert text.splitlines()[-1].startswith(
        "뒤 노트북은 앞 노트북이 만든 것을 사용하므로, 01_secrets_manager 노트북부터")


def turn_dns_hostnames_off(lab):
    lab.client("ec2").modify_vpc_attribute(VpcId=network.vpc_id(lab), EnableDnsHostnames={"Value": False})


def turn_rotation_on(lab):
    lab.client("secretsmanager").rotate_secret(
        SecretId=lab.names.secret, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False,
        RotationLambdaARN=lambda_fn.find_function(lab)["arn"])


def move_the_endpoint_to_the_lambda_subnets(lab):
    endpoint = network.find_secrets_endpoint(lab)
    lab.client("ec2").modify_vpc_endpoint(VpcEndpointId=endpoint["id"],
                                          AddSubnetIds=network.subnet_ids(lab, "lambda"),
                                          RemoveSubnetIds=network.subnet_ids(lab, "secret"))


def put_module2_code_back(lab):
    db_host = rds.find_db_instance(lab)["host"]
    lambda_fn.ensure_function(lab, lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db_host}))


def improved_function_told_the_wrong_proxy(lab):
    lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"),
                              {"SECRET_NAME": lab.names.secret, "DB_HOST": "elsewhere.example.com"})


BREAKAGES = [
    # the function's policy names the secret's ARN, so it no longer matches either
    (secrets.delete_secret, [("01_secrets_manager", 0), ("04_lambda_update", 9)]),
    (turn_rotation_on, [("01_secrets_manager", 1)]),
    (turn_dns_hostnames_off, [("02_vpc_endpoint", 2)]),
    (network.delete_secrets_endpoint, [("02_vpc_endpoint", 4)]),
    (move_the_endpoint_to_the_lambda_subnets, [("02_vpc_endpoint", 5)]),
    (network.revoke_rds_sg_self, [("03_rds_proxy", 6)]),
    # the printed code has the proxy's endpoint written in: without the proxy it is not Module 3's code any more
    (proxy.delete_proxy, [("03_rds_proxy", 7), ("03_rds_proxy", 8), ("04_lambda_update", 11)]),
    (iam.delete_function_secret_policy, [("04_lambda_update", 9)]),
    (iam.attach_secrets_manager_read_write, [("04_lambda_update", 10)]),
    (put_module2_code_back, [("04_lambda_update", 11)]),
    (improved_function_told_the_wrong_proxy, [("04_lambda_update", 12)]),
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
    assert failed(check_module3(lab)) == [("03_rds_proxy", 8)]
