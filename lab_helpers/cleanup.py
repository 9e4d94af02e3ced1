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

Each resource is looked up by its name in config. Where the API has tags, it is deleted only when it
carries the lab's project tag: a resource of the same name made by hand (for example in the original
workshop) is kept and reported as such. Every step accepts a resource that is already gone, so
cleanup is safe after a half-finished run and safe to run twice.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypedDict

from . import api, iam, lambda_fn, network, proxy, rds, secrets
from .config import PROJECT_TAG_KEY, PROJECT_TAG_VALUE, SECRETS_MANAGER_READ_WRITE_POLICY, Lab

ENTRY_POINT_GROUP = "lab_helpers.cleanup"
LEVELS = ("module3", "all")
DELETED = "deleted"
ALREADY_GONE = "already gone"
KEPT = "kept (not the lab's)"
READ_WRITE_POLICY_NAME = SECRETS_MANAGER_READ_WRITE_POLICY.rsplit("/", 1)[1]


# ---------------------------------------------------------------- is it the lab's? (each service lists tags its way)

def _has_project_tag(tags: Mapping[str, str] | list[dict[str, str]]) -> bool:
    mapping = tags if isinstance(tags, Mapping) else {t["Key"]: t["Value"] for t in tags}
    return mapping.get(PROJECT_TAG_KEY) == PROJECT_TAG_VALUE


def ec2_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether an EC2 resource (by its id) carries the lab's project tag."""
    tags = lab.client("ec2").describe_tags(Filters=[
        {"Name": "resource-id", "Values": [found["id"]]},
        {"Name": "key", "Values": [PROJECT_TAG_KEY]}, {"Name": "value", "Values": [PROJECT_TAG_VALUE]}])["Tags"]
    return bool(tags)


def rds_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether an RDS resource (by its ARN) carries the lab's project tag."""
    return _has_project_tag(lab.client("rds").list_tags_for_resource(ResourceName=found["arn"])["TagList"])


def role_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether an IAM role carries the lab's project tag."""
    return _has_project_tag(lab.client("iam").list_role_tags(RoleName=found["name"])["Tags"])


def function_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether a Lambda function (by its ARN) carries the lab's project tag."""
    return _has_project_tag(lab.client("lambda").list_tags(Resource=found["arn"])["Tags"])


def api_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether a REST API carries the lab's project tag."""
    return _has_project_tag(lab.client("apigateway").get_rest_api(restApiId=found["id"]).get("tags", {}))


def secret_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Whether a secret carries the lab's project tag."""
    return _has_project_tag(lab.client("secretsmanager").describe_secret(SecretId=found["arn"]).get("Tags", []))


def untagged(lab: Lab, found: dict[str, Any]) -> bool:
    """Policies of a role and the function's code have no tags: their names in config make them the lab's."""
    return True


# ---------------------------------------------------------------- Module 3 changes that are not resources of their own

def _module2_package(lab: Lab) -> bytes:
    """Module 2's code with the database's endpoint in it, as the baseline deploys it."""
    return lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: rds.db_host(lab)})


def _module3_code(lab: Lab) -> dict[str, Any] | None:
    """The function while it runs anything but Module 2's code without environment variables."""
    function = lambda_fn.find_function(lab)
    if function is None:
        return None
    module2 = function["code_sha256"] == lambda_fn.code_sha256(_module2_package(lab)) and not function["environment"]
    return None if module2 else function


def _put_module2_code_back(lab: Lab) -> bool:
    """Module 2's code and no environment variables: Module 3's code is "deleted" (cleanup only calls this when
    `_module3_code` found it)."""
    lambda_fn.ensure_function(lab, _module2_package(lab))
    return True


def _read_write_attachment(lab: Lab) -> dict[str, Any] | None:
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


_MODULE2_CODE = Resource("Lambda code (Module 3; Module 2's put back)", lambda lab: lab.names.function,
                          _module3_code, untagged, _put_module2_code_back)

_MODULE3 = (
    Resource("IAM policy attachment", lambda lab: f"{lab.names.lambda_role}/{READ_WRITE_POLICY_NAME}",
              _read_write_attachment, untagged, iam.detach_secrets_manager_read_write),
    Resource("IAM inline policy", lambda lab: f"{lab.names.lambda_role}/{lab.names.function_secret_policy}",
              iam.find_function_secret_policy, untagged, iam.delete_function_secret_policy),
    Resource("RDS Proxy", lambda lab: lab.names.proxy, proxy.find_proxy, rds_tagged, proxy.delete_proxy),
    Resource("IAM role", lambda lab: lab.names.proxy_role, iam.find_proxy_role, role_tagged, iam.delete_proxy_role),
    Resource("VPC endpoint", lambda lab: f"{lab.names.vpc}/com.amazonaws.{lab.region}.secretsmanager",
              network.find_secrets_endpoint, ec2_tagged, network.delete_secrets_endpoint),
    Resource("security group", lambda lab: lab.names.secret_sg,
              lambda lab: network.find_security_group(lab, lab.names.secret_sg), ec2_tagged,
              lambda lab: network.delete_security_group(lab, lab.names.secret_sg)),
    Resource("security group rule", lambda lab: f"{lab.names.rds_sg}/tcp 3306 from {lab.names.rds_sg}",
              network.find_rds_sg_self_rule, ec2_tagged, network.revoke_rds_sg_self),
    Resource("Secrets Manager secret", lambda lab: lab.names.secret,
              secrets.find_secret, secret_tagged, secrets.delete_secret),
)

_MODULE2 = (
    # delete_api also removes the API's permission on the function
    Resource("API Gateway REST API", lambda lab: lab.names.api, api.find_api, api_tagged, api.delete_api),
    Resource("Lambda function", lambda lab: lab.names.function,
              lambda_fn.find_function, function_tagged, lambda_fn.delete_function),
    Resource("IAM role", lambda lab: lab.names.lambda_role,
              iam.find_lambda_role, role_tagged, iam.delete_lambda_role),
    Resource("RDS DB instance", lambda lab: lab.names.db_instance,
              rds.find_db_instance, rds_tagged, rds.delete_db_instance),
    Resource("DB subnet group", lambda lab: lab.names.db_subnet_group,
              rds.find_db_subnet_group, rds_tagged, rds.delete_db_subnet_group),
    Resource("internet gateway", lambda lab: lab.names.internet_gateway,
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
    result: str  # "deleted", "already gone" or "kept (not the lab's)"


class Left(TypedDict):
    resource: str
    name: str


def remove(lab: Lab, resource: Resource) -> str:
    """Remove one resource if it is there and is the lab's; what happened ("deleted", "already gone", "kept ...")."""
    found = resource.find(lab)
    if found is None:
        return ALREADY_GONE
    if not resource.is_lab(lab, found):
        return KEPT
    return DELETED if resource.delete(lab) else ALREADY_GONE


def cleanup(lab: Lab, level: str = "module3") -> list[Row]:
    """Remove the lab's resources of `level`, one row per resource in a fixed order:
    {"resource": kind, "name": name, "result": "deleted" | "already gone" | "kept (not the lab's)"}.

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
