"""What a Lambda function's own AWS calls can reach, as from inside its VPC on AWS.

A function attached to a VPC has no way to AWS APIs unless the VPC gives it one: an interface
endpoint for the service (private DNS on, its security group admitting HTTPS from one of the
function's security groups), or a route to a NAT gateway. Without one, the call hangs until the
function times out, exactly what a learner sees on AWS when Step 1.7-17 is missing. With one,
the call is authorized against the function's execution role (moto's IAM policy evaluation): an
action that no policy allows gets AccessDeniedException, as when Step 3.2-3 is missing.

Each execution environment gets its own access key, which tells the endpoint which function is
calling. Only the services in CHECKED_SERVICES are checked: Secrets Manager, the one AWS API
the lab's functions call.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID

log = logging.getLogger(__name__)
CHECKED_SERVICES = {"secretsmanager"}
HANG_SECONDS = 60.0  # longer than any function timeout the lab sets: the function times out first


@dataclass(frozen=True)
class Caller:
    region: str
    function: str
    role_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """`hang` (no network path) or a denial to return, or neither (let the call through)."""
    hang: bool = False
    denial: tuple[int, dict, bytes] | None = None


ALLOW = Verdict()


def access_key(environ: dict) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    except IndexError:
        return None


class FunctionAccess:
    def __init__(self) -> None:
        self._callers: dict[str, Caller] = {}

    def credentials_for(self, region: str, fn) -> dict[str, str]:
        """The execution role's credentials for one function (moto's LambdaFunction)."""
        key = "ASIA" + hashlib.sha256(f"{region}:{fn.function_arn}".encode()).hexdigest()[:16].upper()
        vpc = getattr(fn, "_vpc_config", None) or {}
        self._callers[key] = Caller(region, fn.function_name, fn.role, tuple(vpc.get("SubnetIds") or ()),
                                    tuple(vpc.get("SecurityGroupIds") or ()))
        return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": "lab-execution-role",
                "AWS_SESSION_TOKEN": f"lab-session-{fn.function_name}"}

    def check(self, environ: dict, service: str | None, body: bytes) -> Verdict:
        caller = self._callers.get(access_key(environ) or "")
        if caller is None or service not in CHECKED_SERVICES:
            return ALLOW
        if caller.subnet_ids and not _reachable(caller, service):
            log.info("function %s: no network path to %s from its VPC; the call hangs", caller.function, service)
            return Verdict(hang=True)
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        action = f"{service}:{operation}"
        resource = _secret_arn(caller, body)
        if _allowed(caller.role_arn, action, resource):
            return ALLOW
        log.info("function %s: %s on %s denied to role %s", caller.function, action, resource, caller.role_arn)
        role = caller.role_arn.split("/")[-1]
        message = (f"User: arn:aws:sts::{DEFAULT_ACCOUNT_ID}:assumed-role/{role}/{caller.function} is not authorized "
                   f"to perform: {action} on resource: {resource} because no identity-based policy allows the "
                   f"{action} action")
        return Verdict(denial=(400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "AccessDeniedException"},
                               json.dumps({"__type": "AccessDeniedException", "Message": message}).encode()))


def _reachable(caller: Caller, service: str) -> bool:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[DEFAULT_ACCOUNT_ID][caller.region]
    mine = {s.id: s for zone in ec2.subnets.values() for s in zone.values() if s.id in caller.subnet_ids}
    if not mine:
        return False
    vpc_id = next(iter(mine.values())).vpc_id
    name = f"com.amazonaws.{caller.region}.{service}"
    for endpoint in ec2.vpc_end_points.values():
        if (endpoint.vpc_id == vpc_id and endpoint.service_name == name and endpoint.private_dns_enabled
                and str(endpoint.vpc_endpoint_type).lower() == "interface" and endpoint.state == "available"
                and any(_admits_https(ec2, group, caller, mine.values()) for group in endpoint.security_group_ids)):
            return True
    return _nat_route(ec2, vpc_id, set(mine))


def _admits_https(ec2, group_id: str, caller: Caller, subnets) -> bool:
    group = ec2.get_security_group_from_id(group_id)
    for rule in group.ingress_rules if group else []:
        ports = rule.ip_protocol == "-1" or (rule.ip_protocol == "tcp" and rule.from_port <= 443 <= rule.to_port)
        if not ports:
            continue
        if rule.source_group.get("GroupId") in caller.security_group_ids:
            return True
        cidr = rule.ip_range.get("CidrIp")
        if cidr and all(ipaddress.ip_network(s.cidr_block).subnet_of(ipaddress.ip_network(cidr)) for s in subnets):
            return True
    return False


def _nat_route(ec2, vpc_id: str, subnet_ids: set[str]) -> bool:
    """Does a subnet's route table (its own, else the VPC's main one) send 0.0.0.0/0 to a NAT gateway?"""
    tables = [t for t in ec2.route_tables.values() if t.vpc_id == vpc_id]
    for subnet in subnet_ids:
        table = next((t for t in tables if any(a.get("SubnetId") == subnet for a in t.associations)), None) or \
            next((t for t in tables if t.main_association_id), None)
        if table and any(r.destination_cidr_block == "0.0.0.0/0" and r.nat_gateway for r in table.routes):
            return True
    return False


def _secret_arn(caller: Caller, body: bytes) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        secret_id = json.loads(body or b"{}").get("SecretId", "*")
    except ValueError:
        return "*"
    if secret_id.startswith("arn:"):
        return secret_id
    secrets = secretsmanager_backends[DEFAULT_ACCOUNT_ID][caller.region].secrets
    if secret_id in secrets:
        return secrets[secret_id].arn
    return f"arn:aws:secretsmanager:{caller.region}:{DEFAULT_ACCOUNT_ID}:secret:{secret_id}"


def _allowed(role_arn: str, action: str, resource: str) -> bool:
    """Identity-based policies of the role: an explicit Deny wins, else some Allow is needed."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[DEFAULT_ACCOUNT_ID]["global"].get_role_by_arn(role_arn)
    except Exception:
        return False
    documents = list(role.managed_policies.values()) + list(role.policies.values())
    results = [IAMPolicy(doc).is_action_permitted(action, resource) for doc in documents]
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results
