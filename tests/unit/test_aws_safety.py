"""What keeps a learner's real AWS account safe, without an account: the pre-flight of 00 (botocore's Stubber
plays AWS), an organisation's tags and permissions boundary on everything (in-process moto), the waits a real
account needs (a fake clock), encrypted storage and idempotency tokens, and never a silent bill."""
from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from lab_helpers import api, baseline, billing, iam, lambda_fn, module3, preflight, rds, rotation
from lab_helpers.core import choices
from lab_helpers.core.config import Lab, names_for

BOUNDARY = "arn:aws:iam::123456789012:policy/LabBoundary"


@pytest.fixture
def on_aws() -> Lab:
    session = boto3.Session(region_name="ap-northeast-2", aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return Lab(target="aws", session=session, poll_interval=5, poll_timeout=1800)


# ---------------------------------------------------------------- pre-flight (00, before anything bills)

def test_preflight_refuses_a_region_without_rds_proxy(on_aws):
    with Stubber(on_aws.client("rds")) as rds_stub:
        rds_stub.add_client_error("describe_db_proxies", "InvalidAction",
                                  "The action DescribeDBProxies is not valid for this web service.")
        with pytest.raises(preflight.PreflightFailed) as refused:
            preflight.check(on_aws)
    message = str(refused.value)
    assert "RDS Proxy 를 제공하지 않습니다" in message and "아무것도 만들지 않았습니다" in message
    assert message.count(". ") <= 1  # one sentence (and the reassurance)


def quota_answer(code: str, value: float) -> dict:
    return {"Quota": {"ServiceCode": "vpc", "QuotaCode": code, "Value": value}}


def test_preflight_refuses_a_full_vpc_quota_with_the_current_usage(on_aws):
    ec2, rds_client, quotas = on_aws.client("ec2"), on_aws.client("rds"), on_aws.client("service-quotas")
    with Stubber(ec2) as ec2_stub, Stubber(rds_client) as rds_stub, Stubber(quotas) as quota_stub:
        rds_stub.add_response("describe_db_proxies", {"DBProxies": []}, {"MaxRecords": 20})
        ec2_stub.add_response("describe_vpcs", {"Vpcs": []}, {"Filters": ANY})  # the lab's VPC: not there yet
        ec2_stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": f"vpc-{n}"} for n in range(5)]}, {})
        ec2_stub.add_response("describe_internet_gateways", {"InternetGateways": []}, {})
        quota_stub.add_response("get_service_quota", quota_answer(preflight.VPC_QUOTA, 5.0),
                                {"ServiceCode": "vpc", "QuotaCode": preflight.VPC_QUOTA})
        with pytest.raises(preflight.PreflightFailed) as refused:
            preflight.check(on_aws)
    assert "VPC가 한도에 이르렀습니다 (5/5개)" in str(refused.value)
    assert "Service Quotas" in str(refused.value) and preflight.VPC_QUOTA in str(refused.value)


def test_preflight_uses_aws_default_quota_when_service_quotas_cannot_be_read(on_aws):
    ec2, quotas = on_aws.client("ec2"), on_aws.client("service-quotas")
    with Stubber(ec2) as ec2_stub, Stubber(quotas) as quota_stub:
        ec2_stub.add_response("describe_vpcs", {"Vpcs": []}, {"Filters": ANY})
        ec2_stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-default"}]}, {})
        ec2_stub.add_response("describe_internet_gateways",
                              {"InternetGateways": [{"InternetGatewayId": f"igw-{n}"} for n in range(5)]}, {})
        quota_stub.add_client_error("get_service_quota", "AccessDeniedException")
        quota_stub.add_client_error("get_service_quota", "AccessDeniedException")
        with pytest.raises(preflight.PreflightFailed) as refused:
            preflight.room_for_one_more_lab(on_aws)
    assert "인터넷 게이트웨이가 한도에 이르렀습니다 (5/5개)" in str(refused.value)


def test_preflight_refuses_when_the_organisation_requires_a_tag_and_passes_with_it(on_aws):
    ec2 = on_aws.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_client_error("create_vpc", "UnauthorizedOperation",
                              "You are not authorized to perform this operation. Encoded authorization failure "
                              "message: ...", expected_params={"CidrBlock": "10.0.0.0/16", "DryRun": True,
                                                               "TagSpecifications": ANY})
        with pytest.raises(preflight.PreflightFailed) as refused:
            preflight.tags_accepted(on_aws)
        assert "태그" in str(refused.value) and "tags" in str(refused.value)

    tagged = Lab(target="aws", session=on_aws.session, extra_tags={"CostCenter": "1234"})
    with Stubber(tagged.client("ec2")) as stub:  # the dry run carries the organisation's tag, and would succeed
        stub.add_client_error("create_vpc", "DryRunOperation", "Request would have succeeded, but DryRun flag is "
                              "set.", http_status_code=412, expected_params={
                                  "CidrBlock": "10.0.0.0/16", "DryRun": True, "TagSpecifications": [
                                      {"ResourceType": "vpc", "Tags": [
                                          {"Key": "CostCenter", "Value": "1234"},
                                          {"Key": "lab:project", "Value": "optimize-serverless-module3"},
                                          {"Key": "lab:module", "Value": "2"},
                                          {"Key": "Name", "Value": "serverless-app"}]}]})
        preflight.tags_accepted(tagged)  # no error: the dry run would have succeeded
        stub.assert_no_pending_responses()


def test_the_tag_and_boundary_choices_are_checked_as_aws_checks_them():
    assert choices.parse_tags("CostCenter=1234, Owner=kim") == (("CostCenter", "1234"), ("Owner", "kim"))
    assert choices.parse_tags("") == ()
    for wrong in ("CostCenter", "aws:createdBy=me", "lab:project=x", "Bad#Key=1"):
        with pytest.raises(choices.ChoiceError):
            choices.parse_tags(wrong)
    assert choices.check_permissions_boundary(BOUNDARY) == BOUNDARY
    with pytest.raises(choices.ChoiceError) as refused:
        choices.check_permissions_boundary("LabBoundary")
    assert "arn:aws:iam::123456789012:policy/" in str(refused.value)


def test_the_choices_remember_tags_and_boundary(tmp_path):
    chosen = choices.choose("aws", "ap-northeast-2", "kim01", "CostCenter=1234", BOUNDARY)
    choices.remember(chosen, tmp_path)
    again = choices.recall(tmp_path)
    assert again == chosen
    assert again.lab_settings() == {"learner": "kim01", "extra_tags": {"CostCenter": "1234"},
                                    "permissions_boundary": BOUNDARY}


# ---------------------------------------------------------------- what an organisation requires, on everything

def test_every_role_has_the_boundary_and_every_resource_the_extra_tags(lab, calls):
    import dataclasses

    required = dataclasses.replace(lab, extra_tags={"CostCenter": "1234"}, permissions_boundary=BOUNDARY,
                                   _clients={})
    required.client("iam").create_policy(PolicyName="LabBoundary", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    baseline.ensure_baseline(required)
    module3.ensure_module3(required)
    rotation.ensure_rotation_function(required)

    roles = calls.params("CreateRole")
    assert len(roles) == 3 and all(role["PermissionsBoundary"] == BOUNDARY for role in roles)
    creating = [(name, params) for name, params in calls.log
                if name.startswith("Create") and {"Tags", "TagSpecifications", "tags"} & params.keys()]
    assert len(creating) >= 15
    for name, params in creating:
        tags = params.get("Tags") or params.get("tags") or params["TagSpecifications"][0]["Tags"]
        mapping = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
        assert mapping.get("CostCenter") == "1234", name


def test_the_rotation_role_trusts_lambdas_full_service_name(lab, secret_ready):
    role = iam.ensure_rotation_role(lab, secret_ready["arn"])
    assert role["trusted_service"] == ["lambda.amazonaws.com"]
    roles = [iam.ensure_lambda_role(lab), role]
    assert all(service.endswith(".amazonaws.com") for r in roles for service in r["trusted_service"])


def test_the_db_storage_is_encrypted_and_the_endpoint_request_has_an_idempotency_token(lab, calls):
    baseline.ensure_baseline(lab)
    assert calls.one("CreateDBInstance")["StorageEncrypted"] is True
    assert rds.find_db_instance(lab) is not None
    module3.ensure_module3(lab)
    token = calls.one("CreateVpcEndpoint")["ClientToken"]
    assert len(token) == 36  # a UUID: botocore's retries of this request send the same one


# ---------------------------------------------------------------- waits a real account needs (fake clock)

def configuration(name: str, update: str, sha: str = "old") -> dict:
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:ap-northeast-2:123456789012:function:{name}",
            "Runtime": "python3.12", "MemorySize": 128, "Timeout": 10, "CodeSha256": sha, "State": "Active",
            "LastUpdateStatus": update, "Environment": {"Variables": {}}}


def test_an_update_waits_for_the_one_in_progress_and_retries_a_conflict(on_aws, clock, monkeypatch, capsys):
    name = on_aws.names.function
    package = b"zip"
    monkeypatch.setattr(lambda_fn.ownership, "function_tagged", lambda lab, found: True)
    client = on_aws.client("lambda")
    with Stubber(client) as stub:
        by_name = {"FunctionName": name}
        stub.add_response("get_function_configuration", configuration(name, "InProgress"), by_name)  # a re-run
        stub.add_response("get_function_configuration", configuration(name, "InProgress"), by_name)  # waited
        stub.add_response("get_function_configuration", configuration(name, "Successful"), by_name)
        stub.add_client_error("update_function_code", "ResourceConflictException",
                              "The operation cannot be performed at this time. An update is in progress for "
                              "resource: " + name, http_status_code=409)
        stub.add_response("update_function_code", configuration(name, "InProgress", lambda_fn.code_sha256(package)),
                          {"FunctionName": name, "ZipFile": package})
        stub.add_response("get_function_configuration",
                          configuration(name, "Successful", lambda_fn.code_sha256(package)), by_name)
        stub.add_response("get_function_configuration",
                          configuration(name, "Successful", lambda_fn.code_sha256(package)), by_name)
        function = lambda_fn.ensure_function(on_aws, package)
        stub.assert_no_pending_responses()
    assert function["code_sha256"] == lambda_fn.code_sha256(package)
    out = capsys.readouterr().out
    assert f"⏳ Lambda 함수 {name} 업데이트: InProgress" in out
    assert f"⏳ Lambda 함수 {name} 업데이트 시작: ResourceConflictException" in out
    assert clock[0] == 10.0  # two pauses of 5 s: the update waited for, the conflict retried


def test_the_stage_is_retried_on_access_denied_right_after_a_policy_change(on_aws, clock, monkeypatch, capsys):
    denied = b'{"statusCode": 500, "body": "{\\"errorType\\": \\"AccessDeniedException\\"}"}'
    answers = [(200, {}, denied), (200, {}, denied), (200, {}, b'{"statusCode": 200, "body": "\\"now\\""}')]
    monkeypatch.setattr("lab_helpers.core.web.get", lambda url: answers.pop(0))
    status, body = api.call_stage(on_aws, "https://abc.execute-api.ap-northeast-2.amazonaws.com/dev")
    assert (status, json.loads(body)["statusCode"]) == (200, 200) and clock[0] == 10.0
    assert "⏳ Invoke URL 호출 (IAM 정책 전파 대기): AccessDenied" in capsys.readouterr().out


def test_the_stage_denial_is_given_up_after_a_while_and_never_retried_locally(on_aws, clock, monkeypatch):
    denied = b'{"statusCode": 500, "body": "AccessDeniedException"}'
    monkeypatch.setattr("lab_helpers.core.web.get", lambda url: (200, {}, denied))
    status, body = api.call_stage(on_aws, "https://abc.execute-api.ap-northeast-2.amazonaws.com/dev")
    assert "AccessDenied" in body and clock[0] == pytest.approx(api.ACCESS_DENIED_RETRY_S, abs=5)
    local = Lab(target="local", session=on_aws.session)
    clock[0] = 0.0
    api.call_stage(local, "http://abc.execute-api.localhost:1/dev")
    assert clock[0] == 0.0


def demo_rows(lab: Lab, cached_status: int, cached_code: int | None) -> list[dict]:
    from lab_helpers.measure.names import function_name

    return [{"function": function_name(lab, key), "reads_secret": how, "status": cached_status if key == "cached"
             else 200, "result": "", "error_code": cached_code if key == "cached" else None}
            for key, how, _ in rotation.DEMO]


def test_07_on_aws_polls_until_rds_proxy_refuses_the_old_password(on_aws, clock, monkeypatch, capsys):
    answers = [demo_rows(on_aws, 200, None), demo_rows(on_aws, 200, None), demo_rows(on_aws, 500, 1045)]
    monkeypatch.setattr(rotation, "_rows", lambda lab: answers.pop(0))
    monkeypatch.setattr(rotation.proxy, "set_idle_client_timeout", lambda lab, seconds: None)
    rows = rotation.after_rotation_demo(on_aws)
    assert [r["error_code"] for r in rows if r["function"].endswith("cached")] == [1045]
    assert clock[0] == pytest.approx(3 * (rotation.DEMO_IDLE_CLIENT_TIMEOUT_S + 1.5))
    assert "⏳ RDS Proxy 가 이전 비밀번호를 거부할 때까지" in capsys.readouterr().out


def test_07_on_aws_gives_up_after_its_bound(on_aws, clock, monkeypatch):
    monkeypatch.setattr(rotation, "_rows", lambda lab: demo_rows(on_aws, 200, None))
    monkeypatch.setattr(rotation.proxy, "set_idle_client_timeout", lambda lab, seconds: None)
    rows = rotation.after_rotation_demo(on_aws)  # returns the rows: 07's check then says what differs
    limit = rotation.OLD_PASSWORD_REFUSED_S
    assert rows[1]["status"] == 200 and limit <= clock[0] < limit + 7


# ---------------------------------------------------------------- never a silent bill

BILLING = [{"resource": "RDS DB 인스턴스", "name": "kim01-serverless-app-rds", "usd_per_hour": 0.025},
           {"resource": "RDS Proxy", "name": "kim01-serverless-app-rds-proxy", "usd_per_hour": 0.036}]


def test_99_with_leftovers_never_says_done_with_a_check_mark(on_aws, capsys):
    from lab_helpers import notebook

    kim = Lab(target="aws", region="us-east-1", names=names_for("kim01", "us-east-1"), session=on_aws.session)
    notebook.check_cleanup(kim, "module3", [], BILLING)
    out = capsys.readouterr().out
    assert "✅" not in out and out.startswith("⚠️")
    assert "0.061 USD/시간" in out
    assert "make lab TARGET=aws CONFIRM_COSTS=1 REGION=us-east-1 LEARNER=kim01 LEVEL=all NB=99_cleanup" in out
    notebook.check_cleanup(kim, "all", [], [])
    assert capsys.readouterr().out.startswith("✅")
    with pytest.raises(AssertionError):
        notebook.check_cleanup(kim, "all", [{"resource": "VPC", "name": "x"}], [])


def test_a_failing_cell_on_aws_is_followed_by_what_bills(on_aws, monkeypatch):
    """The kernel hook of notebooks on AWS: the error as usual, then the leftovers and the cleanup command."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    monkeypatch.setattr("lab_helpers.cleanup.still_billing", lambda lab: BILLING)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    try:
        billing.report_on_failure(on_aws)
        result = shell.run_cell("raise RuntimeError('RDS Proxy 를 만들 수 없습니다')")
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()
    assert isinstance(result.error_in_exec, RuntimeError)  # the cell still fails (papermill stops there)
    text = out.getvalue()
    assert "RuntimeError" in text and text.index("RuntimeError") < text.index("⚠️ AWS 에 이 실습의 유료 리소스")
    assert "RDS Proxy" in text and "0.061 USD/시간" in text and "LEVEL=all NB=99_cleanup" in text


def test_make_lab_refuses_a_wrong_tag_or_boundary_before_anything_runs():
    from lab_helpers.tools import run_lab

    said = run_lab.preflight("aws", "ap-northeast-2", None, True, {"tags": "lab:project=mine"})
    assert said is not None and "태그 키 'lab:project'" in said
    said = run_lab.preflight("aws", "ap-northeast-2", None, True, {"permissions_boundary": "LabBoundary"})
    assert said is not None and "permissions_boundary" in said
