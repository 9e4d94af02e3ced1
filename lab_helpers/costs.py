"""The AWS target's cost guard: what the lab's resources cost while they exist, and the learner's consent.

On the local target nothing is billed. On AWS, a few of the lab's resources are billed by the hour
from the moment they exist until the 99_cleanup notebook deletes them. `require_confirmation`
shows them and stops unless the learner has said yes (confirm_costs=True).

Every price is named once, below: approximate on-demand list prices in ap-northeast-2 (Seoul), USD,
without tax and without the free tier, as looked up for this lab. They change; check the AWS
pricing pages (https://aws.amazon.com/rds/mysql/pricing/, https://aws.amazon.com/rds/proxy/pricing/,
https://aws.amazon.com/privatelink/pricing/, https://aws.amazon.com/secrets-manager/pricing/).
"""
from __future__ import annotations

from dataclasses import dataclass

from .core.config import DEFAULT_REGION, NAMES, Names
from .core.text import pad

PRICING_REGION = "ap-northeast-2"
HOURS_PER_MONTH = 730  # AWS's convention for turning a monthly price into an hourly one

# RDS for MySQL, Single-AZ: USD per instance-hour and the class's vCPUs (RDS Proxy bills per vCPU).
DB_INSTANCE_CLASSES = {"db.t4g.micro": (0.025, 2)}
GP2_USD_PER_GIB_MONTH = 0.131
PROXY_USD_PER_VCPU_HOUR = 0.018
PROXY_MIN_VCPUS = 2  # a proxy in front of a provisioned instance is billed for at least 2 vCPUs
ENDPOINT_USD_PER_AZ_HOUR = 0.013  # interface VPC endpoint, per AZ it is in, plus data processed per GB
SECRET_USD_PER_MONTH = 0.40  # per secret, plus API calls per 10,000
EXTENDED_SUPPORT_USD_PER_VCPU_HOUR = 0.100  # RDS Extended Support, year 1-2, what a MySQL past standard support bills
EXTENDED_SUPPORT_OFF = "open-source-rds-extended-support-disabled"
LOGS_USD_PER_GB = 0.76  # CloudWatch Logs ingestion (the function's log group), plus storage per GB-month


class CostConfirmationRequired(RuntimeError):
    """The AWS target was chosen without confirm_costs=True."""


@dataclass(frozen=True)
class Billable:
    resource: str  # what AWS bills (for the learner, in Korean)
    name: str  # the lab's resource
    usd_per_hour: float  # approximate
    basis: str  # how AWS bills it
    minimum: str = ""  # the shortest period AWS bills once the resource exists
    module: int = 3  # 2: Module 2's baseline (kept by 99_cleanup level="module3"), 3: what Module 3 adds
    key: str = ""  # which of the lab's resources it is (cleanup looks each one up by it)


def billable(names: Names = NAMES) -> tuple[Billable, ...]:
    """The billable resources the lab creates on AWS, with their approximate hourly price."""
    if names.db_instance_class not in DB_INSTANCE_CLASSES:
        raise ValueError(f"no price for {names.db_instance_class}: add it to costs.DB_INSTANCE_CLASSES")
    db_usd_per_hour, db_vcpus = DB_INSTANCE_CLASSES[names.db_instance_class]
    proxy_vcpus = max(PROXY_MIN_VCPUS, db_vcpus)
    endpoint_azs = len(names.subnet_names("secret"))
    extended = names.db_engine_lifecycle_support != EXTENDED_SUPPORT_OFF
    items = [
        Billable("RDS DB 인스턴스", names.db_instance, db_usd_per_hour, f"{names.db_instance_class} Single-AZ, 시간당",
                 "초 단위, 최소 10분", module=2, key="db_instance"),
        Billable("RDS 스토리지", names.db_instance, GP2_USD_PER_GIB_MONTH * names.db_storage_gib / HOURS_PER_MONTH,
                 f"gp2 {names.db_storage_gib} GiB × {GP2_USD_PER_GIB_MONTH} USD/GiB-월", "시간 단위 비례", module=2,
                 key="db_instance"),
        Billable("RDS Proxy", names.proxy, PROXY_USD_PER_VCPU_HOUR * proxy_vcpus,
                 f"대상 vCPU {proxy_vcpus}개 × {PROXY_USD_PER_VCPU_HOUR} USD/vCPU-시간 (최소 {PROXY_MIN_VCPUS} vCPU)",
                 "초 단위, 최소 10분", key="proxy"),
        Billable("VPC 인터페이스 엔드포인트", f"{names.vpc}/secretsmanager", ENDPOINT_USD_PER_AZ_HOUR * endpoint_azs,
                 f"AZ {endpoint_azs}개 × {ENDPOINT_USD_PER_AZ_HOUR} USD/시간, 처리 데이터 GB 당 별도",
                 "시작한 시간 전체", key="secrets_endpoint"),
        Billable("Secrets Manager 보안 암호", names.secret, SECRET_USD_PER_MONTH / HOURS_PER_MONTH,
                 f"{SECRET_USD_PER_MONTH:.2f} USD/월, API 호출 별도", "시간 단위 비례, 삭제 예약 기간 제외",
                 key="secret"),
        Billable("Lambda 함수", names.function, 0.0, "요청 수와 실행 시간 (실습 규모는 프리 티어 안, 약 0)",
                 "요청마다", module=2, key="function"),
        Billable("Lambda 함수 (보안 암호 로테이션, 07)", names.rotation_function, 0.0,
                 "호출 수와 실행 시간 (30일마다 네 번, 약 0)", "요청마다", key="rotation_function"),
        Billable("CloudWatch Logs 로그 그룹", f"/aws/lambda/{names.function}", 0.0,
                 f"수집 {LOGS_USD_PER_GB} USD/GB 와 보관 (실습 규모는 약 0)", "GB 단위", module=2, key="log_group"),
        Billable("API Gateway REST API", names.api, 0.0, "요청 수 (실습 규모는 약 0)", "요청마다", module=2, key="api"),
    ]
    if extended:  # only when the lab's setting asks for it (the lab's own setting turns it off)
        items.insert(1, Billable("RDS Extended Support", names.db_instance,
                                 EXTENDED_SUPPORT_USD_PER_VCPU_HOUR * db_vcpus,
                                 f"vCPU {db_vcpus}개 × {EXTENDED_SUPPORT_USD_PER_VCPU_HOUR} USD/vCPU-시간",
                                 "초 단위", module=2, key="db_instance"))
    return tuple(items)


BILLABLE = billable()  # the configured lab's billable resources


def describe(region: str = DEFAULT_REGION, names: Names = NAMES) -> str:
    """The billable resources with the total per hour and per day, the minimum billing periods, what still
    bills after 99_cleanup level="module3", and the way out (99_cleanup level="all")."""
    items = billable(names)
    total = sum(item.usd_per_hour for item in items)
    kept = sum(item.usd_per_hour for item in items if item.module == 2)
    width = max(len(item.name) for item in items)
    where = PRICING_REGION if region == PRICING_REGION else f"{PRICING_REGION} 기준, {region} 에서는 다를 수 있음"
    lines = [f"AWS 에서 이 실습이 만드는 유료 리소스 (온디맨드 요금의 근사치, USD, {where}):",
             f"  {pad('USD/시간', 8)}  {pad('이름', width)}  {pad('module3 정리 후', 15)}  "
             "리소스: 과금 기준 (최소 과금)"]
    lines += [f"  {pad(f'{item.usd_per_hour:.4f}', 8)}  {pad(item.name, width)}  "
              f"{pad('계속 과금' if item.module == 2 else '삭제됨', 15)}  "
              f"{item.resource}: {item.basis} ({item.minimum})"
              for item in items]
    support = (f"RDS Extended Support 는 꺼 두었습니다 (EngineLifecycleSupport={EXTENDED_SUPPORT_OFF})."
               if names.db_engine_lifecycle_support == EXTENDED_SUPPORT_OFF else
               "RDS Extended Support 요금이 붙습니다 (위 표).")
    lines += [f"  합계: 약 {total:.3f} USD/시간, 약 {total * 24:.2f} USD/일. {support}",
              f"  99_cleanup 을 level=\"module3\" 로 실행한 뒤에도 Module 2 구성이 약 {kept:.3f} USD/시간 "
              f"(약 {kept * 24:.2f} USD/일) 씩 계속 과금됩니다. 모두 멈추려면 level=\"all\" 로 실행하세요.",
              "근사치이므로 정확한 요금은 AWS 요금 페이지(https://aws.amazon.com/pricing/)에서 확인하세요.",
              "실습이 끝나면 99_cleanup 노트북을 실행해 만든 리소스를 모두 삭제하세요. "
              "삭제할 때까지 요금이 계속 부과됩니다."]
    return "\n".join(lines)


def require_confirmation(confirm_costs: bool, region: str = DEFAULT_REGION, names: Names = NAMES) -> None:
    """Show what the lab will cost on AWS; stop unless the learner accepted it (confirm_costs=True)."""
    print(describe(region, names))
    if not confirm_costs:
        raise CostConfirmationRequired(
            "AWS 에 유료 리소스를 만들기 전에 비용에 동의해야 합니다. 위 표를 확인한 뒤, 파라미터 셀에서 "
            "confirm_costs=True 로 설정하거나 터미널에서 `make lab TARGET=aws CONFIRM_COSTS=1` 로 실행하세요. "
            "비용 없이 실습하려면 target='local' 을 사용하세요.")
