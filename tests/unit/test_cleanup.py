import pytest

from lab_helpers import iam, lambda_fn, network, proxy, secrets
from lab_helpers.baseline import ensure_baseline
from lab_helpers.cleanup import ALREADY_GONE, ALREADY_REVERTED, DELETED, KEPT, REVERTED, cleanup, leftovers
from lab_helpers.module3 import ensure_module3

# what notebook 06 / make bench deploy; not there in these tests, so "already gone"
SUFFIXES = ("m2", "printed", "m3", "storm", "pinning", "cached")
MEASUREMENT_ROWS = [("Lambda 함수 (측정용)", f"serverless-app-lambda-{suffix}") for suffix in SUFFIXES] + [
    ("CloudWatch Logs 로그 그룹 (측정용)", f"/aws/lambda/serverless-app-lambda-{suffix}") for suffix in SUFFIXES
] + [("DB 파라미터 그룹 (측정용)", "serverless-app-rds-measure")]
# Lambda makes no network interfaces under moto: nothing to wait for
ENI_ROW = ("Lambda VPC 네트워크 인터페이스 (Lambda 가 해제)", "AWS Lambda VPC ENI-serverless-app-lambda")
# what notebook 07 adds (not there in these tests either)
ROTATION_ROWS = [
    ("Lambda 함수 (로테이션)", "serverless-app-rds-rotation"),
    ("CloudWatch Logs 로그 그룹 (로테이션)", "/aws/lambda/serverless-app-rds-rotation"),
    ("Lambda VPC 네트워크 인터페이스 (로테이션, Lambda 가 해제)", "AWS Lambda VPC ENI-serverless-app-rds-rotation"),
    ("IAM 역할 (로테이션)", "serverless-app-rds-rotation-role"),
]
# what notebook 08 adds or changes (registered first: its entry point's name sorts first; not there either)
IAM_AUTH_ROWS = [
    ("Lambda 함수 (IAM 인증 시도)", "serverless-app-lambda-iam-probe"),
    ("CloudWatch Logs 로그 그룹 (IAM 인증 시도)", "/aws/lambda/serverless-app-lambda-iam-probe"),
    ("RDS Proxy IAM 인증 (IAMAuth REQUIRED → DISABLED)", "serverless-app-rds-proxy"),
    ("IAM 인라인 정책 (rds-db:connect)", "serverless-app-lambda-role/serverless-app-lambda-rds-db-connect"),
]
CODE_ROW = ("Lambda 함수 코드 (Module 3 의 것, Module 2 의 코드로 되돌림)", "serverless-app-lambda")
MODULE3_ROWS = [
    CODE_ROW,
    *IAM_AUTH_ROWS,
    *MEASUREMENT_ROWS,
    *ROTATION_ROWS,
    ("IAM 관리형 정책 연결", "serverless-app-lambda-role/SecretsManagerReadWrite"),
    ("IAM 인라인 정책", "serverless-app-lambda-role/serverless-app-lambda-secret-read"),
    ("RDS Proxy", "serverless-app-rds-proxy"),
    ("IAM 역할", "serverless-app-rds-proxy-role"),
    ("VPC 엔드포인트", "serverless-app/com.amazonaws.ap-northeast-2.secretsmanager"),
    ("보안 그룹", "secret-sg"),
    ("보안 그룹 규칙", "rds-sg/tcp 3306 from rds-sg"),
    ("Secrets Manager 보안 암호", "serverless-app-rds-secret"),
]
MODULE2_ROWS = [
    ("API Gateway REST API", "serverless-app-api"),
    ("Lambda 함수", "serverless-app-lambda"),
    ("CloudWatch Logs 로그 그룹", "/aws/lambda/serverless-app-lambda"),
    ENI_ROW,
    ("IAM 역할", "serverless-app-lambda-role"),
    ("RDS DB 인스턴스", "serverless-app-rds"),
    ("DB 서브넷 그룹", "rds-subnet-group"),
    ("인터넷 게이트웨이", "serverless-app-igw"),
    ("VPC", "serverless-app"),
]
ALL_ROWS = MODULE3_ROWS[1:] + MODULE2_ROWS  # level "all" deletes the function instead of putting its code back


def rows(expected, result=DELETED, **exceptions):
    """The rows cleanup should return: `result` for each, except {name: result}; the function's code is put back,
    not deleted: its row says so."""
    absent = {*MEASUREMENT_ROWS, *ROTATION_ROWS, *IAM_AUTH_ROWS, ENI_ROW}
    as_code = {DELETED: REVERTED, ALREADY_GONE: ALREADY_REVERTED}
    return [{"resource": kind, "name": name,
             "result": exceptions.get(name, ALREADY_GONE if (kind, name) in absent
                                      else as_code.get(result, result) if (kind, name) == CODE_ROW else result)}
            for kind, name in expected]


def listed(expected):
    return [{"resource": kind, "name": name} for kind, name in expected
            if (kind, name) not in [*MEASUREMENT_ROWS, *ROTATION_ROWS, *IAM_AUTH_ROWS, ENI_ROW]]


@pytest.fixture
def module3_done(lab, calls):
    """Module 2 and Module 3 complete, plus SecretsManagerReadWrite attached as the module's Step 3.3 prints it."""
    baseline = ensure_baseline(lab)
    ensure_module3(lab)
    iam.attach_secrets_manager_read_write(lab)
    calls.clear()
    return baseline


def test_module3_cleanup_puts_module2_back(lab, calls, module3_done):
    assert leftovers(lab, "module3") == listed(MODULE3_ROWS)
    assert cleanup(lab) == rows(MODULE3_ROWS)

    function = lambda_fn.find_function(lab)
    db_host = module3_done["db_instance"]["host"]
    module2 = lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db_host})
    assert (function["code_sha256"], function["environment"]) == (lambda_fn.code_sha256(module2), {})
    assert leftovers(lab, "module3") == []
    assert leftovers(lab) == listed(MODULE2_ROWS)
    calls.clear()
    assert ensure_baseline(lab) == module3_done  # the baseline is whole, and as it was before Module 3
    assert calls.mutating() == []


def test_second_cleanup_finds_everything_gone_and_changes_nothing(lab, calls, module3_done):
    cleanup(lab)
    calls.clear()
    assert cleanup(lab) == rows(MODULE3_ROWS, ALREADY_GONE)
    assert calls.mutating() == []


def test_cleanup_after_a_half_finished_run(lab, module3_done):
    proxy.delete_proxy(lab)
    network.revoke_rds_sg_self(lab)
    assert cleanup(lab) == rows(MODULE3_ROWS, **{"serverless-app-rds-proxy": ALREADY_GONE,
                                                  "rds-sg/tcp 3306 from rds-sg": ALREADY_GONE})
    assert leftovers(lab, "module3") == []


def test_cleanup_all_removes_the_lab_and_nothing_else(lab, calls, module3_done):
    ec2, sm = lab.client("ec2"), lab.client("secretsmanager")
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    sm.create_secret(Name="other-secret", SecretString="{}")

    assert cleanup(lab, "all") == rows(ALL_ROWS)
    assert leftovers(lab) == []
    assert other_vpc in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert sm.describe_secret(SecretId="other-secret")["Name"] == "other-secret"

    calls.clear()
    assert cleanup(lab, "all") == rows(ALL_ROWS, ALREADY_GONE)
    assert calls.mutating() == []


def test_same_names_without_the_lab_tags_are_kept(lab):
    """A learner's own VPC and secret from the original workshop carry the names but not the lab's tags."""
    vpc = lab.client("ec2").create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "serverless-app"}]}])["Vpc"]["VpcId"]
    lab.client("secretsmanager").create_secret(Name="serverless-app-rds-secret", SecretString="{}")

    kept = KEPT
    assert cleanup(lab, "all") == rows(ALL_ROWS, ALREADY_GONE, **{"serverless-app": kept,
                                                                     "serverless-app-rds-secret": kept})
    assert leftovers(lab) == []
    assert network.find_vpc(lab)["id"] == vpc
    assert secrets.find_secret(lab) is not None


def test_unknown_level_is_refused(lab):
    with pytest.raises(ValueError, match="module3"):
        cleanup(lab, "module2")


def test_what_still_bills_is_listed_whatever_the_level(lab, module3_done):
    from lab_helpers.cleanup import still_billing

    before = still_billing(lab)
    assert {row["resource"] for row in before} >= {"RDS DB 인스턴스", "RDS Proxy", "VPC 인터페이스 엔드포인트",
                                                  "Secrets Manager 보안 암호"}
    cleanup(lab, "module3")
    after_module3 = still_billing(lab)
    assert {row["resource"] for row in after_module3} >= {"RDS DB 인스턴스", "RDS 스토리지"}
    assert not {"RDS Proxy", "VPC 인터페이스 엔드포인트"} & {row["resource"] for row in after_module3}
    assert sum(row["usd_per_hour"] for row in after_module3) > 0.02  # the Module 2 instance keeps billing
    cleanup(lab, "all")
    assert still_billing(lab) == []
