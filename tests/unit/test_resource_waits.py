"""The long waits of the lab on AWS, without an AWS account: the DB instance, RDS Proxy and its
target, the Secrets Manager endpoint, the Lambda function. Each shows its progress and stops at
once, with the likely cause, on a state it will not leave (botocore's Stubber and replaced fetches
stand in for AWS; a fake clock stands in for the minutes)."""
import boto3
import pytest
from botocore.stub import Stubber

from lab_helpers import lambda_fn, network, proxy, rds
from lab_helpers.core.config import NAMES, Lab
from lab_helpers.core.waiting import ABSENT, WaitFailed

DB = NAMES.db_instance


@pytest.fixture
def on_aws() -> Lab:
    """A Lab on AWS's pace (5 s polls, 30 minutes at most); its clients are stubbed or its fetches replaced."""
    session = boto3.Session(region_name="ap-northeast-2", aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return Lab(target="aws", session=session, poll_interval=5, poll_timeout=1800)


def answers(*sequence):
    """A fetch answering each item in turn, then the last one forever."""
    items = list(sequence)
    return lambda *_: items.pop(0) if len(items) > 1 else items[0]


# ---------------------------------------------------------------- DB instance

def db_instance(status: str) -> dict:
    return {"DBInstanceIdentifier": DB, "DBInstanceArn": f"arn:aws:rds:ap-northeast-2:123456789012:db:{DB}",
            "DBInstanceStatus": status, "Engine": "mysql", "EngineVersion": "8.4.3", "DBInstanceClass": "db.t4g.micro",
            "Endpoint": {"Address": f"{DB}.abcdefghij.ap-northeast-2.rds.amazonaws.com", "Port": 3306},
            "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}], "DBParameterGroups": [],
            "TagList": Lab().tags(2, DB)}  # the lab's own instance


def test_db_instance_wait_shows_each_state_until_available(on_aws, clock, capsys):
    stubber = Stubber(on_aws.client("rds"))
    by_name = {"DBInstanceIdentifier": DB}
    for status in ["creating"] * 8 + ["backing-up", "available", "available"]:  # ensure, 9 polls, find
        stubber.add_response("describe_db_instances", {"DBInstances": [db_instance(status)]}, by_name)
    with stubber:
        db = rds.ensure_db_instance(on_aws)  # it exists already: no CreateDBInstance, only the wait
    stubber.assert_no_pending_responses()
    assert db["state"] == "available"
    assert capsys.readouterr().out.splitlines() == [
        f"⏳ DB 인스턴스 {DB}: creating — 인스턴스를 만들고 MySQL 을 설치하는 중 (0초 경과, 보통 5–15분)",
        f"⏳ DB 인스턴스 {DB}: creating — 인스턴스를 만들고 MySQL 을 설치하는 중 (30초 경과, 보통 5–15분)",
        f"⏳ DB 인스턴스 {DB}: backing-up — 첫 백업을 만드는 중 (35초 경과, 보통 5–15분)",
        f"✔ DB 인스턴스 {DB}: available (40초 걸림)"]


@pytest.mark.parametrize("status", sorted(set(rds.DB_INSTANCE_FAILED) - {ABSENT}))
def test_db_instance_wait_stops_at_once_on_a_terminal_state(on_aws, clock, monkeypatch, status):
    monkeypatch.setattr(rds, "_raw_instance", answers(db_instance("creating"), db_instance("creating"),
                                                      db_instance(status)))
    with pytest.raises(WaitFailed) as failed:
        rds.ensure_db_instance(on_aws)
    assert (failed.value.what, failed.value.state) == (f"DB 인스턴스 {DB}", status)
    assert str(failed.value).startswith(f"DB 인스턴스 {DB}: {status} 상태가 되어 더 기다려도 준비되지 않으므로")
    assert rds.DB_INSTANCE_FAILED[status] in str(failed.value)
    assert clock[0] == 5  # the first poll that saw it, not 30 minutes later


def test_db_instance_causes_say_what_to_do():
    assert "IP 주소" in rds.DB_INSTANCE_FAILED["incompatible-network"]
    assert "파라미터 그룹" in rds.DB_INSTANCE_FAILED["incompatible-parameters"]
    assert "스토리지" in rds.DB_INSTANCE_FAILED["storage-full"]
    assert "KMS" in rds.DB_INSTANCE_FAILED["inaccessible-encryption-credentials"]
    assert "rds.delete_db_instance(lab)" in rds.DB_INSTANCE_FAILED["failed"]


def test_db_instance_deletion_waits_until_it_is_gone(on_aws, clock, capsys):
    stubber = Stubber(on_aws.client("rds"))
    by_name = {"DBInstanceIdentifier": DB}
    stubber.add_response("describe_db_instances", {"DBInstances": [db_instance("available")]}, by_name)
    stubber.add_response("delete_db_instance", {"DBInstance": db_instance("deleting")},
                         {**by_name, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True})
    stubber.add_response("describe_db_instances", {"DBInstances": [db_instance("deleting")]}, by_name)
    stubber.add_client_error("describe_db_instances", "DBInstanceNotFound", http_status_code=404,
                             expected_params=by_name)
    with stubber:
        assert rds.delete_db_instance(on_aws) is True
    assert capsys.readouterr().out.splitlines() == [
        f"⏳ DB 인스턴스 {DB} 삭제: deleting — 인스턴스와 스토리지를 삭제하는 중 (0초 경과, 보통 5–10분)",
        f"✔ DB 인스턴스 {DB} 삭제: {ABSENT} (5초 걸림)"]


def test_local_waits_print_nothing(lab, network_ready, capsys):
    """The local cloud answers at once: the notebooks' reference outputs stay as they are."""
    rds.ensure_db_subnet_group(lab)
    rds.ensure_db_instance(lab)
    network.ensure_secret_sg(lab)
    network.ensure_secrets_endpoint(lab)
    network.delete_secrets_endpoint(lab)
    rds.delete_db_instance(lab)
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------- RDS Proxy and its target

def proxy_view(state: str, target: str | None = None, reason: str | None = None) -> proxy.ProxyView:
    targets = [] if target is None else [{"db": DB, "type": "RDS_INSTANCE", "state": target, "reason": reason}]
    return {"name": NAMES.proxy, "arn": "arn:aws:rds:ap-northeast-2:123456789012:db-proxy:prx-1", "state": state,
            "engine_family": "MYSQL", "endpoint": "p.proxy-x.ap-northeast-2.rds.amazonaws.com", "require_tls": True,
            "auth": "SECRETS (IAM auth DISABLED)", "targets": targets}


def test_proxy_wait_follows_the_proxy_then_its_target(on_aws, clock, capsys, monkeypatch):
    monkeypatch.setattr(proxy, "find_proxy", answers(
        proxy_view("creating"), proxy_view("available", "REGISTERING"), proxy_view("available", "UNAVAILABLE"),
        proxy_view("available", "UNAVAILABLE", "PENDING_PROXY_CAPACITY"), proxy_view("available", "AVAILABLE")))
    assert proxy.wait_for_proxy(on_aws)["targets"][0]["state"] == "AVAILABLE"
    what = f"RDS Proxy {NAMES.proxy}"
    assert capsys.readouterr().out.splitlines() == [
        f"⏳ {what}: creating — 프록시와 그 네트워크 인터페이스를 rds 서브넷에 만드는 중 "
        "(0초 경과, 보통 1–5분)",
        f"⏳ {what}: 대상 {DB}: REGISTERING — 프록시가 DB 인스턴스를 대상으로 등록하는 중 "
        "(5초 경과, 보통 1–5분)",
        f"⏳ {what}: 대상 {DB}: UNAVAILABLE — 프록시가 DB 에 처음 연결하는 중 (10초 경과, 보통 1–5분)",
        f"⏳ {what}: 대상 {DB}: UNAVAILABLE (PENDING_PROXY_CAPACITY) — 프록시가 연결을 받을 용량을 준비하는 중; "
        f"10분 넘게 이어지면 원인을 알려 드리고 멈춥니다 (15초 경과, 보통 1–5분)",
        f"✔ {what}: 대상 {DB}: AVAILABLE (20초 걸림)"]


@pytest.mark.parametrize("state", ["incompatible-network", "insufficient-resource-limits"])
def test_proxy_wait_stops_at_once_on_a_terminal_proxy_state(on_aws, clock, monkeypatch, state):
    monkeypatch.setattr(proxy, "find_proxy", answers(proxy_view("creating"), proxy_view(state)))
    with pytest.raises(WaitFailed) as failed:
        proxy.wait_for_proxy(on_aws)
    assert failed.value.state == state and failed.value.cause == proxy.PROXY_FAILED[state]
    assert clock[0] == 5


def test_proxy_creation_wait_stops_on_a_terminal_state_before_registering(on_aws, clock, monkeypatch):
    monkeypatch.setattr(proxy, "_raw_proxy", answers({"Status": "creating"}, {"Status": "incompatible-network"}))
    with pytest.raises(WaitFailed, match="incompatible-network 상태가 되어") as failed:
        proxy._wait_available(on_aws)
    assert "IP 주소" in failed.value.cause and "proxy.delete_proxy(lab)" in failed.value.cause


@pytest.mark.parametrize(("reason", "after", "says"), [
    ("AUTH_FAILURE", 120, "보안 암호의 사용자 이름과 비밀번호"),
    ("CONNECTION_FAILED", 120, "network.allow_rds_sg_self"),
    ("UNREACHABLE", 120, "rds-sg"),
    ("PENDING_PROXY_CAPACITY", 600, "보안 암호를 읽지 못하거나"),
    ("INVALID_REPLICATION_STATE", 120, "복제"),
])
def test_an_unavailable_target_fails_once_its_reason_has_lasted(on_aws, clock, monkeypatch, reason, after, says):
    monkeypatch.setattr(proxy, "find_proxy", answers(proxy_view("available", "REGISTERING"),
                                                     proxy_view("available", "UNAVAILABLE", reason)))
    with pytest.raises(WaitFailed) as failed:
        proxy.wait_for_proxy(on_aws)
    assert failed.value.state == f"대상 {DB}: UNAVAILABLE ({reason})"
    assert says in failed.value.cause
    assert clock[0] == 5 + after  # first seen at 5 s; given `after` seconds to pass on its own


def test_an_auth_failure_that_passes_does_not_stop_the_wait(on_aws, clock, monkeypatch):
    """Right after the proxy's role is created, AUTH_FAILURE may pass by itself (IAM propagation)."""
    monkeypatch.setattr(proxy, "find_proxy", answers(*[proxy_view("available", "UNAVAILABLE", "AUTH_FAILURE")] * 20,
                                                     proxy_view("available", "AVAILABLE")))
    assert proxy.wait_for_proxy(on_aws)["targets"][0]["state"] == "AVAILABLE"


def test_proxy_deletion_waits_until_it_is_gone(on_aws, clock, capsys, monkeypatch):
    monkeypatch.setattr(proxy, "_raw_proxy", answers({"Status": "deleting"}, {"Status": "deleting"}, None))
    assert proxy.delete_proxy(on_aws) is True
    assert capsys.readouterr().out.splitlines()[-1] == f"✔ RDS Proxy {NAMES.proxy} 삭제: {ABSENT} (5초 걸림)"


# ---------------------------------------------------------------- the Secrets Manager endpoint

def endpoint(state: str, error: dict | None = None) -> dict:
    found = {"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "State": state, "PrivateDnsEnabled": True,
             "ServiceName": "com.amazonaws.ap-northeast-2.secretsmanager", "SubnetIds": [], "Groups": []}
    return {**found, "LastError": error} if error else found


def test_endpoint_wait_from_pending_to_available(on_aws, clock, capsys, monkeypatch):
    # ensure's own look, then the wait: not listed yet (eventual consistency), pending, available
    monkeypatch.setattr(network.endpoint, "_raw_secrets_endpoint",
                        answers(endpoint("pending"), None, endpoint("pending"), endpoint("available")))
    monkeypatch.setattr(network.endpoint, "find_subnets", lambda lab: [])
    assert network.ensure_secrets_endpoint(on_aws)["state"] == "available"
    assert capsys.readouterr().out.splitlines() == [
        f"⏳ Secrets Manager VPC 엔드포인트: {ABSENT} (0초 경과, 보통 1–3분)",
        "⏳ Secrets Manager VPC 엔드포인트: pending — secret 서브넷마다 네트워크 인터페이스를 만들고 private DNS "
        "이름을 연결하는 중 (5초 경과, 보통 1–3분)",
        "✔ Secrets Manager VPC 엔드포인트: available (10초 걸림)"]


@pytest.mark.parametrize("state", ["Failed", "Rejected", "Expired", "Partial"])
def test_endpoint_wait_stops_at_once_on_a_terminal_state(on_aws, clock, monkeypatch, state):
    error = {"Code": "InsufficientFreeAddressesInSubnet", "Message": "no free addresses"} if state == "Failed" else None
    monkeypatch.setattr(network.endpoint, "_raw_secrets_endpoint",
                        answers(endpoint("Pending"), endpoint("Pending"), endpoint(state, error)))
    monkeypatch.setattr(network.endpoint, "find_subnets", lambda lab: [])
    with pytest.raises(WaitFailed) as failed:
        network.ensure_secrets_endpoint(on_aws)
    assert failed.value.state == state.lower()
    assert failed.value.cause.startswith(network.ENDPOINT_FAILED[state.lower()])
    assert "network.delete_secrets_endpoint(lab)" in failed.value.cause
    if error:
        assert failed.value.cause.endswith("(AWS: InsufficientFreeAddressesInSubnet: no free addresses)")
    assert clock[0] == 5


# ---------------------------------------------------------------- the Lambda function

def configuration(state: str = "Active", update: str = "Successful", **extra) -> dict:
    return {"FunctionName": NAMES.function, "State": state, "LastUpdateStatus": update, **extra}


def test_function_wait_until_active(on_aws, clock, capsys):
    stubber = Stubber(on_aws.client("lambda"))
    for state in ("Pending", "Pending", "Active"):
        stubber.add_response("get_function_configuration", configuration(state), {"FunctionName": NAMES.function})
    with stubber:
        lambda_fn._wait_active(on_aws, NAMES.function)
    stubber.assert_no_pending_responses()
    assert capsys.readouterr().out.splitlines() == [
        f"⏳ Lambda 함수 {NAMES.function}: Pending — VPC 의 lambda 서브넷에 네트워크 인터페이스를 준비하는 중 "
        "(0초 경과, 보통 몇 초–2분)",
        f"✔ Lambda 함수 {NAMES.function}: Active (10초 걸림)"]


@pytest.mark.parametrize("code", sorted(lambda_fn.FUNCTION_FAILED) + ["FunctionError.InitTimeout"])
def test_a_failed_function_stops_the_wait_with_its_reason(on_aws, clock, code):
    stubber = Stubber(on_aws.client("lambda"))
    stubber.add_response("get_function_configuration", configuration("Pending"), {"FunctionName": NAMES.function})
    stubber.add_response("get_function_configuration",
                         configuration("Failed", StateReasonCode=code, StateReason="what Lambda says"),
                         {"FunctionName": NAMES.function})
    with stubber, pytest.raises(WaitFailed) as failed:
        lambda_fn._wait_active(on_aws, NAMES.function)
    assert failed.value.state == f"Failed ({code})"
    cause = lambda_fn.FUNCTION_FAILED.get(code, "AWS 가 알려 준 이유를 확인하고")
    assert cause in failed.value.cause and failed.value.cause.endswith(f"(AWS: {code}: what Lambda says)")


def test_an_update_that_fails_stops_the_wait_with_its_reason(on_aws, clock, capsys):
    stubber = Stubber(on_aws.client("lambda"))
    by_name = {"FunctionName": NAMES.function}
    stubber.add_response("get_function_configuration", configuration(update="InProgress"), by_name)
    stubber.add_response("get_function_configuration", configuration(update="Successful"), by_name)
    stubber.add_response("get_function_configuration", configuration(update="InProgress"), by_name)
    stubber.add_response("get_function_configuration", configuration(
        update="Failed", LastUpdateStatusReasonCode="SubnetOutOfIPAddresses",
        LastUpdateStatusReason="no free IP addresses"), by_name)
    with stubber:
        lambda_fn._wait_updated(on_aws, NAMES.function)
        assert capsys.readouterr().out.splitlines()[0] == (
            f"⏳ Lambda 함수 {NAMES.function} 업데이트: InProgress — 새 코드와 설정을 적용하는 중 "
            "(0초 경과, 보통 몇 초–1분)")
        with pytest.raises(WaitFailed, match="lambda 서브넷에 남은 IP 주소가 없습니다") as failed:
            lambda_fn._wait_updated(on_aws, NAMES.function)
    assert failed.value.state == "Failed (SubnetOutOfIPAddresses)"
