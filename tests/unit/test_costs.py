"""The AWS target's guards, tested without an AWS account: the cost confirmation, the credentials
check, and the wait for a new IAM role (botocore's Stubber stands in for AWS)."""
import dataclasses
import os

import botocore.client
import pytest
from botocore.stub import Stubber

from lab_helpers import costs, iam, lambda_fn, network, notebook
from lab_helpers.core.config import NAMES, Lab

CONFIRM_INSTRUCTIONS = ("confirm_costs=True", "make lab TARGET=aws CONFIRM_COSTS=1")


@pytest.fixture
def no_aws_calls(monkeypatch):
    """Fail the test on any AWS API call."""
    def refuse(client, operation, params):
        raise AssertionError(f"AWS called: {operation}")
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere boto3 looks: environment, empty config files, no instance metadata."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for variable, file in (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE", "credentials")):
        (tmp_path / file).write_text("")
        monkeypatch.setenv(variable, str(tmp_path / file))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_describe_lists_every_billable_resource_and_the_total():
    text = costs.describe("ap-northeast-2")
    for item in costs.BILLABLE:
        assert f"{item.usd_per_hour:.4f}" in text and item.name in text and f"{item.resource}: {item.basis}" in text
    total = sum(item.usd_per_hour for item in costs.BILLABLE)
    assert f"합계: 약 {total:.3f} USD/시간, 약 {total * 24:.2f} USD/일" in text
    assert "99_cleanup" in text and "근사치" in text
    assert {item.name for item in costs.BILLABLE} >= {NAMES.db_instance, NAMES.proxy, NAMES.secret}
    assert 0.05 < total < 0.2  # the order of magnitude a learner is told


def test_prices_of_another_region_are_marked_as_such():
    assert "ap-northeast-2 기준, us-east-1 에서는 다를 수 있음" in costs.describe("us-east-1")


def test_an_instance_class_without_a_price_is_refused():
    with pytest.raises(ValueError, match="DB_INSTANCE_CLASSES"):
        costs.billable(dataclasses.replace(NAMES, db_instance_class="db.r7g.16xlarge"))


def test_without_confirmation_the_lab_stops_with_instructions(capsys, no_aws_calls):
    with pytest.raises(costs.CostConfirmationRequired) as raised:
        costs.require_confirmation(False, "ap-northeast-2")
    assert isinstance(raised.value, RuntimeError)
    assert all(instruction in str(raised.value) for instruction in CONFIRM_INSTRUCTIONS)
    assert capsys.readouterr().out == costs.describe("ap-northeast-2") + "\n"


def test_with_confirmation_the_costs_are_only_shown(capsys, no_aws_calls):
    costs.require_confirmation(True, "ap-northeast-2")
    assert capsys.readouterr().out == costs.describe("ap-northeast-2") + "\n"


def test_aws_target_without_credentials_is_refused_clearly(no_credentials, no_aws_calls):
    with pytest.raises(RuntimeError, match=r"AWS 자격 증명을 찾지 못했습니다. `aws configure` 로 설정"):
        Lab.connect("aws")


def test_notebook_asks_for_the_cost_confirmation_before_any_aws_call(monkeypatch, capsys, no_aws_calls):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # credentials that would otherwise let it through
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(costs.CostConfirmationRequired):
        notebook.start(target="aws", confirm_costs=False)
    assert "99_cleanup" in capsys.readouterr().out


def test_a_later_notebook_on_aws_without_the_confirmation_shows_the_costs_and_stops(monkeypatch, tmp_path, capsys,
                                                                                    no_aws_calls):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))  # 00 never ran here: nothing was confirmed
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(costs.CostConfirmationRequired):
        notebook.connect("aws", "ap-northeast-2", "")
    assert "AWS 에서 이 실습이 만드는 유료 리소스" in capsys.readouterr().out


def test_the_table_says_minimum_billing_and_what_keeps_billing_after_module3_cleanup():
    text = costs.describe("ap-northeast-2")
    assert "최소 10분" in text and "계속 과금" in text and "삭제됨" in text
    kept = sum(item.usd_per_hour for item in costs.BILLABLE if item.module == 2)
    assert f'level="module3" 로 실행한 뒤에도 Module 2 구성이 약 {kept:.3f} USD/시간' in text
    assert "EngineLifecycleSupport=open-source-rds-extended-support-disabled" in text
    assert NAMES.db_engine_version == "8.4"  # in standard support: no Extended Support charge
    paid = dataclasses.replace(NAMES, db_engine_lifecycle_support="open-source-rds-extended-support")
    assert any(item.resource == "RDS Extended Support" and item.usd_per_hour > 0 for item in costs.billable(paid))


def test_creating_the_function_on_aws_waits_until_its_new_role_can_be_assumed(lab, network_ready, module2_package):
    """Right after CreateRole, Lambda answers "cannot be assumed" for a while; creation is retried, then succeeds."""
    on_aws = dataclasses.replace(lab, target="aws", _clients={})  # IAM and EC2 still on moto; Lambda stubbed
    role = iam.ensure_lambda_role(on_aws)
    names = on_aws.names
    request = {"FunctionName": names.function, "Runtime": names.function_runtime, "Handler": lambda_fn.HANDLER,
               "Role": role["arn"], "Code": {"ZipFile": module2_package}, "MemorySize": names.function_memory_mb,
               "Timeout": names.function_timeout_s,
               "VpcConfig": {"SubnetIds": network.subnet_ids(on_aws, "lambda"),
                             "SecurityGroupIds": [network.security_group_id(on_aws, names.lambda_sg)]},
               "Environment": {"Variables": {}}, "Tags": Lab().tag_map(2)}
    by_name = {"FunctionName": names.function}
    configuration = {"FunctionName": names.function, "Runtime": names.function_runtime,
                     "FunctionArn": f"arn:aws:lambda:ap-northeast-2:123456789012:function:{names.function}",
                     "MemorySize": names.function_memory_mb, "Timeout": names.function_timeout_s,
                     "CodeSha256": lambda_fn.code_sha256(module2_package), "State": "Active",
                     "LastUpdateStatus": "Successful"}

    stubber = Stubber(on_aws.client("lambda"))
    stubber.add_client_error("get_function_configuration", "ResourceNotFoundException", http_status_code=404,
                             expected_params=by_name)
    stubber.add_client_error("create_function", "InvalidParameterValueException",
                             "The role defined for the function cannot be assumed by Lambda.", 400,
                             expected_params=request)
    stubber.add_response("create_function", {**configuration, "State": "Pending"}, request)
    stubber.add_response("get_function_configuration", configuration, by_name)  # the function_active waiter
    stubber.add_response("get_function_configuration", configuration, by_name)  # find_function
    with stubber:
        function = lambda_fn.ensure_function(on_aws, module2_package)
    stubber.assert_no_pending_responses()
    assert (function["state"], function["code_sha256"]) == ("Active", configuration["CodeSha256"])
