"""Cleanup (the 99_cleanup notebook): remove what the lab created, in dependency order.

Two levels:
- "module3": only what Module 3 added. The function gets Module 2's code back (credentials in the
  code, no environment variables), so the Module 2 application keeps working throughout.
- "all": Module 3's additions, then the whole Module 2 baseline. The function is deleted, so its
  code is not put back first.

Other parts of the lab register what they add next to it under the entry point group
`lab_helpers.cleanup` (a tuple of `Resource`): the measurements of notebook 06 do
(`lab_helpers.measure.registration`); those are removed first, so cleanup never imports their code
otherwise (it runs on AWS too).

Each resource is looked up by its name in config. It is changed or deleted only when it carries the
lab's project tag (a policy, when its role does; the function's code, when the function does): a
resource of the same name made by hand (for example in the original workshop) is kept and reported as
"남겨 둠 (실습의 것이 아님)". Before the function's role, security groups and subnets go, cleanup waits for
Lambda to release the functions' network interfaces. Every step accepts a resource that is already
gone, so cleanup is safe after a half-finished run and safe to run twice. `still_billing` lists what
of the lab still bills afterwards, whatever the level.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypedDict

from . import api, costs, iam, lambda_enis, lambda_fn, log_groups, network, proxy, rds, secrets
from .core.config import Lab
from .core.ownership import api_tagged, ec2_tagged, function_tagged, rds_tagged, role_tagged, secret_tagged

ENTRY_POINT_GROUP = "lab_helpers.cleanup"
LEVELS = ("module3", "all")
DELETED = "삭제함"
ALREADY_GONE = "이미 없음"
KEPT = "남겨 둠 (실습의 것이 아님)"
REVERTED = "되돌림"  # the function's code: Module 2's put back, the function kept
ALREADY_REVERTED = "이미 Module 2 의 코드"
READ_WRITE_POLICY_NAME = iam.SECRETS_MANAGER_READ_WRITE


# ---------------------------------------------------------------- is it the lab's? (see ownership)

def lambda_role_tagged(lab: Lab, found: Any) -> bool:
    """A policy of the function's role (policies have no tags of their own): the lab's when the role is."""
    return role_tagged(lab, {"name": lab.names.lambda_role})


def lambda_function_tagged(lab: Lab, found: Any) -> bool:
    """The function's code: the lab's to change only when the function carries the lab's tag."""
    function = lambda_fn.find_function(lab)
    return function is not None and function_tagged(lab, function)


def log_group_tagged(lab: Lab, found: Any) -> bool:
    """Whether the function's log group carries the lab's project tag (Lambda's own, untagged one does not)."""
    return log_groups.is_lab(lab, lab.names.function)


def managed_by_aws(lab: Lab, found: Any) -> bool:
    """What AWS itself manages for the lab's resources (Lambda's network interfaces): waited for, never touched."""
    return True


# ---------------------------------------------------------------- Module 3 changes that are not resources of their own

def _module2_package(lab: Lab) -> bytes:
    """Module 2's code with the database's endpoint in it, as the baseline deploys it."""
    return lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: rds.db_host(lab)})


def _module3_code(lab: Lab) -> lambda_fn.FunctionView | None:
    """The function while it runs anything but Module 2's code without environment variables."""
    function = lambda_fn.find_function(lab)
    if function is None:
        return None
    module2 = function["code_sha256"] == lambda_fn.code_sha256(_module2_package(lab)) and not function["environment"]
    return None if module2 else function


def _put_module2_code_back(lab: Lab) -> bool:
    """Module 2's code and no environment variables: Module 3's code is "되돌림" (cleanup only calls this when
    `_module3_code` found it)."""
    lambda_fn.ensure_function(lab, _module2_package(lab))
    return True


def _read_write_attachment(lab: Lab) -> iam.RoleView | None:
    """The function's role while SecretsManagerReadWrite (Step 3.3 as printed) is attached to it."""
    role = iam.find_lambda_role(lab)
    return role if role and READ_WRITE_POLICY_NAME in role["managed_policies"] else None


# ---------------------------------------------------------------- what cleanup removes, in order

@dataclass(frozen=True)
class Resource:
    """One thing cleanup removes: how to name it, find it, tell that it is the lab's, and delete it."""
    kind: str
    name: Callable[[Lab], str]
    find: Callable[[Lab], Any]  # the resource, or None when it is gone
    is_lab: Callable[[Lab, Any], bool]  # whether the found resource carries the lab's tags
    delete: Callable[[Lab], bool]  # False when it was already gone
    done: str = DELETED  # what its row says once `delete` has removed it
    gone: str = ALREADY_GONE  # ... when there was nothing to remove


_MODULE2_CODE = Resource("Lambda 함수 코드 (Module 3 의 것, Module 2 의 코드로 되돌림)", lambda lab: lab.names.function,
                          _module3_code, lambda_function_tagged, _put_module2_code_back,
                          done=REVERTED, gone=ALREADY_REVERTED)

def _rotation_function(lab: Lab) -> str:
    return lab.names.rotation_function


# What notebook 07 adds (beyond the module): its rotation function, the function's log group, its network
# interfaces (released by Lambda, with the role), and its role; removed with Module 3's level.
_ROTATION = (
    Resource("Lambda 함수 (로테이션)", _rotation_function,
              lambda lab: lambda_fn.find_function(lab, _rotation_function(lab)), function_tagged,
              lambda lab: lambda_fn.delete_function(lab, _rotation_function(lab))),
    Resource("CloudWatch Logs 로그 그룹 (로테이션)", lambda lab: log_groups.name_of(_rotation_function(lab)),
              lambda lab: log_groups.find_log_group(lab, _rotation_function(lab)),
              lambda lab, found: log_groups.is_lab(lab, _rotation_function(lab)),
              lambda lab: log_groups.delete_log_group(lab, _rotation_function(lab))),
    Resource("Lambda VPC 네트워크 인터페이스 (로테이션, Lambda 가 해제)",
              lambda lab: lambda_enis.description_prefix(lab, _rotation_function(lab)),
              lambda lab: lambda_enis.find_pending(lab, _rotation_function(lab)), managed_by_aws,
              lambda lab: lambda_enis.wait_released(lab, function=_rotation_function(lab))),
    Resource("IAM 역할 (로테이션)", lambda lab: lab.names.rotation_role, iam.find_rotation_role, role_tagged,
              iam.delete_rotation_role),
)

_MODULE3 = (
    *_ROTATION,
    Resource("IAM 관리형 정책 연결", lambda lab: f"{lab.names.lambda_role}/{READ_WRITE_POLICY_NAME}",
              _read_write_attachment, lambda_role_tagged, iam.detach_secrets_manager_read_write),
    Resource("IAM 인라인 정책", lambda lab: f"{lab.names.lambda_role}/{lab.names.function_secret_policy}",
              iam.find_function_secret_policy, lambda_role_tagged, iam.delete_function_secret_policy),
    Resource("RDS Proxy", lambda lab: lab.names.proxy, proxy.find_proxy, rds_tagged, proxy.delete_proxy),
    Resource("IAM 역할", lambda lab: lab.names.proxy_role, iam.find_proxy_role, role_tagged, iam.delete_proxy_role),
    Resource("VPC 엔드포인트", lambda lab: f"{lab.names.vpc}/com.amazonaws.{lab.region}.secretsmanager",
              network.find_secrets_endpoint, ec2_tagged, network.delete_secrets_endpoint),
    Resource("보안 그룹", lambda lab: lab.names.secret_sg,
              lambda lab: network.find_security_group(lab, lab.names.secret_sg), ec2_tagged,
              lambda lab: network.delete_security_group(lab, lab.names.secret_sg)),
    Resource("보안 그룹 규칙", lambda lab: f"{lab.names.rds_sg}/tcp 3306 from {lab.names.rds_sg}",
              network.find_rds_sg_self_rule, ec2_tagged, network.revoke_rds_sg_self),
    Resource("Secrets Manager 보안 암호", lambda lab: lab.names.secret,
              secrets.find_secret, secret_tagged, secrets.delete_secret),
)

_MODULE2 = (
    # delete_api also removes the API's permission on the function
    Resource("API Gateway REST API", lambda lab: lab.names.api, api.find_api, api_tagged, api.delete_api),
    Resource("Lambda 함수", lambda lab: lab.names.function,
              lambda_fn.find_function, function_tagged, lambda_fn.delete_function),
    Resource("CloudWatch Logs 로그 그룹", lambda lab: log_groups.name_of(lab.names.function),
              log_groups.find_log_group, log_group_tagged, log_groups.delete_log_group),
    # Lambda releases the functions' network interfaces itself, with the function's role, minutes later:
    # the role, security groups and subnets can only go once they are gone
    Resource("Lambda VPC 네트워크 인터페이스 (Lambda 가 해제)", lambda lab: lambda_enis.description_prefix(lab),
              lambda_enis.find_pending, managed_by_aws, lambda_enis.wait_released),
    Resource("IAM 역할", lambda lab: lab.names.lambda_role,
              iam.find_lambda_role, role_tagged, iam.delete_lambda_role),
    Resource("RDS DB 인스턴스", lambda lab: lab.names.db_instance,
              rds.find_db_instance, rds_tagged, rds.delete_db_instance),
    Resource("DB 서브넷 그룹", lambda lab: lab.names.db_subnet_group,
              rds.find_db_subnet_group, rds_tagged, rds.delete_db_subnet_group),
    Resource("인터넷 게이트웨이", lambda lab: lab.names.internet_gateway,
              network.find_internet_gateway, ec2_tagged, network.delete_internet_gateway),
    # delete_vpc also removes what is inside: subnets, route table, security groups, endpoints
    Resource("VPC", lambda lab: lab.names.vpc, network.find_vpc, ec2_tagged, network.delete_vpc),
)


def registered() -> tuple[Resource, ...]:
    """What other parts of the lab registered under the entry point group `lab_helpers.cleanup`, by name."""
    found: list[Resource] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.extend(entry.load())
    return tuple(found)


def _resources(level: str) -> tuple[Resource, ...]:
    if level == "module3":
        return (_MODULE2_CODE, *registered(), *_MODULE3)
    if level == "all":
        return (*registered(), *_MODULE3, *_MODULE2)
    raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


class Row(TypedDict):
    resource: str
    name: str
    result: str  # DELETED, ALREADY_GONE or KEPT; REVERTED or ALREADY_REVERTED for the function's code


class Left(TypedDict):
    resource: str
    name: str


def remove(lab: Lab, resource: Resource) -> str:
    """Remove one resource if it is there and is the lab's; what happened (its `done` or `gone`, or KEPT)."""
    found = resource.find(lab)
    if found is None:
        return resource.gone
    if not resource.is_lab(lab, found):
        return KEPT
    return resource.done if resource.delete(lab) else resource.gone


def cleanup(lab: Lab, level: str = "module3") -> list[Row]:
    """Remove the lab's resources of `level`, one row per resource in a fixed order:
    {"resource": kind, "name": name, "result": DELETED | ALREADY_GONE | KEPT} (REVERTED | ALREADY_REVERTED for
    the function's code).

    On AWS this waits for each deletion (the database takes 5-10 minutes).
    """
    return run(lab, _resources(level))


def run(lab: Lab, resources: tuple[Resource, ...]) -> list[Row]:
    """`remove` each resource in order; one row each."""
    return [Row(resource=r.kind, name=r.name(lab), result=remove(lab, r)) for r in resources]


def leftovers(lab: Lab, level: str = "all") -> list[Left]:
    """What `cleanup(lab, level)` would still remove: the lab's resources that exist, as {"resource", "name"}."""
    return still_there(lab, _resources(level))


def still_there(lab: Lab, resources: tuple[Resource, ...]) -> list[Left]:
    """Those of `resources` that exist and are the lab's."""
    return [Left(resource=r.kind, name=r.name(lab)) for r in resources
            if (found := r.find(lab)) is not None and r.is_lab(lab, found)]


# ---------------------------------------------------------------- what still bills

class Billing(TypedDict):
    resource: str
    name: str
    usd_per_hour: float


_BILLABLE_FINDERS: dict[str, tuple[Callable[[Lab], Any], Callable[[Lab, Any], bool]]] = {
    "db_instance": (rds.find_db_instance, rds_tagged),
    "proxy": (proxy.find_proxy, rds_tagged),
    "secrets_endpoint": (network.find_secrets_endpoint, ec2_tagged),
    "secret": (secrets.find_secret, secret_tagged),
    "function": (lambda_fn.find_function, function_tagged),
    "rotation_function": (lambda lab: lambda_fn.find_function(lab, lab.names.rotation_function), function_tagged),
    "log_group": (log_groups.find_log_group, log_group_tagged),
    "api": (api.find_api, api_tagged),
}


def still_billing(lab: Lab) -> list[Billing]:
    """Every billable resource of this learner's lab still on the account (whatever the level cleaned), with
    its approximate hourly cost; empty once `cleanup(lab, "all")` has removed everything."""
    out: list[Billing] = []
    present: dict[str, bool] = {}
    for item in costs.billable(lab.names):
        if item.key not in present:
            find, is_lab = _BILLABLE_FINDERS[item.key]
            found = find(lab)
            present[item.key] = found is not None and is_lab(lab, found)
        if present[item.key]:
            out.append(Billing(resource=item.resource, name=item.name, usd_per_hour=round(item.usd_per_hour, 4)))
    return out
