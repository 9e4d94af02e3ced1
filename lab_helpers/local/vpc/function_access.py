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
import time
from dataclasses import dataclass

from .. import moto
from ..gateway import Request, Response

log = logging.getLogger(__name__)
CHECKED_SERVICES = {"secretsmanager"}
SECRET_KEY = "lab-execution-role"  # every role session's secret key (the access key tells them apart)
HANG_SECONDS = 60.0  # longer than any function timeout the lab sets: the function times out first


@dataclass(frozen=True)
class Caller:
    region: str
    function: str
    role_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


class FunctionAccess:
    """The gateway's guard for calls made by functions: network path first, then IAM."""

    def __init__(self) -> None:
        self._callers: dict[str, Caller] = {}

    def credentials_for(self, fn: moto.awslambda.DeployedFunction) -> dict[str, str]:
        """The execution role's credentials for one function."""
        key = "ASIA" + hashlib.sha256(f"{fn.region}:{fn.arn}".encode()).hexdigest()[:16].upper()
        self._callers[key] = Caller(fn.region, fn.name, fn.role, fn.subnet_ids, fn.security_group_ids)
        return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_SESSION_TOKEN": _session_token(fn.name)}

    def issued(self, access_key: str) -> tuple[Caller, str, str] | None:
        """The function whose role session has this access key, with its secret key and session token; None
        when the cloud never issued it to a function."""
        caller = self._callers.get(access_key)
        return (caller, SECRET_KEY, _session_token(caller.function)) if caller else None

    def check(self, request: Request) -> Response | None:
        caller = self._callers.get(request.access_key or "")
        if caller is None or request.service not in CHECKED_SERVICES:
            return None
        if caller.subnet_ids and not reachable(caller, request.service):
            log.info("function %s: no network path to %s from its VPC; the call hangs", caller.function,
                     request.service)
            time.sleep(HANG_SECONDS)  # nothing answers: the function times out first
            return 504, {}, b""
        operation = request.operation
        action = f"{request.service}:{operation}"
        resource = _secret_arn(caller, request.body)
        policies = moto.iam.role_policies(caller.role_arn)
        if policies is not None and moto.iam.policies_allow(policies, action, resource):
            return None
        log.info("function %s: %s on %s denied to role %s", caller.function, action, resource, caller.role_arn)
        role = caller.role_arn.split("/")[-1]
        message = (f"User: arn:aws:sts::{moto.ACCOUNT}:assumed-role/{role}/{caller.function} is not "
                   f"authorized to perform: {action} on resource: {resource} because no identity-based policy "
                   f"allows the {action} action")
        return (400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "AccessDeniedException"},
                json.dumps({"__type": "AccessDeniedException", "Message": message}).encode())


def _session_token(function: str) -> str:
    return f"lab-session-{function}"


def reachable(caller: Caller, service: str) -> bool:
    """Does the function's VPC give it a way to `service`: an interface endpoint or a NAT route?"""
    mine = moto.ec2.subnets(caller.region, caller.subnet_ids)
    if not mine:
        return False
    vpc_id = mine[0].vpc_id
    name = f"com.amazonaws.{caller.region}.{service}"
    for endpoint in moto.ec2.interface_endpoints(caller.region, vpc_id):
        if (endpoint.service_name == name and endpoint.private_dns and endpoint.state == "available"
                and any(_admits_https(caller, group, mine) for group in endpoint.security_group_ids)):
            return True
    return _nat_route(caller.region, vpc_id, {s.id for s in mine})


def _inside(subnet: str, cidr: str) -> bool:
    """Whether the subnet's range lies in `cidr` (never, across IPv4 and IPv6)."""
    inner, outer = ipaddress.ip_network(subnet), ipaddress.ip_network(cidr)
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _admits_https(caller: Caller, group_id: str, subnets: list[moto.ec2.Subnet]) -> bool:
    for rule in moto.ec2.ingress_rules(caller.region, group_id):
        ports = rule.protocol == "-1" or (rule.protocol == "tcp" and rule.from_port is not None
                                          and rule.from_port <= 443 <= (rule.to_port or 0))
        if not ports:
            continue
        if set(rule.source_group_ids) & set(caller.security_group_ids):
            return True
        for cidr in rule.cidrs:
            if all(_inside(s.cidr, cidr) for s in subnets):
                return True
    return False


def _nat_route(region: str, vpc_id: str, subnet_ids: set[str]) -> bool:
    """Does a subnet's route table (its own, else the VPC's main one) send 0.0.0.0/0 to a NAT gateway?"""
    tables = moto.ec2.route_tables(region, vpc_id)
    main = next((t for t in tables if t.main), None)
    for subnet in subnet_ids:
        table = next((t for t in tables if subnet in t.associated_subnets), None) or main
        if table and table.default_route_to_nat:
            return True
    return False


def _secret_arn(caller: Caller, body: bytes) -> str:
    try:
        secret_id = json.loads(body or b"{}").get("SecretId", "*")
    except ValueError:
        return "*"
    return moto.secretsmanager.secret_arn(caller.region, str(secret_id))
