"""Who has a lab in this account and region: learners found by the names of the lab's resources.

The lab's resources carry its project tag (`lab:project`) but no learner tag: a learner is the prefix of the
account-wide names (`config.names_for`: `kim01-serverless-app-rds`; no prefix keeps the module's names). So
each service's resources of the lab's kinds are listed once, and a name that is exactly a learner's prefix
plus the module's name (IAM roles: plus the region) names a candidate. Whether that learner's lab is really
there, and the lab's, is decided afterwards by the same look-ups and tag checks as 99_cleanup (`roster`).

Each listing also gives the resource's creation time where the service has one (VPCs, functions and
subnet groups have none): the earliest is the lab's age.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from ..core.choices import LEARNER
from ..core.config import DEFAULT_REGION, NAMES, PROJECT_TAG_KEY, PROJECT_TAG_VALUE, Lab

NO_PREFIX = ""  # the learner of a lab with the module's own names


def learner_of(name: str, base: str) -> str | None:
    """The learner whose resource of the module's name `base` is called `name`: "" for `base` itself, "kim01" for
    `kim01-<base>`; None when `name` is not such a name (another resource, or not a learner's prefix)."""
    if name == base:
        return NO_PREFIX
    if name.endswith("-" + base):
        learner = name[:-len(base) - 1]
        return learner if LEARNER.match(learner) else None
    return None


def role_learner(name: str, base: str, region: str) -> str | None:
    """The learner of an IAM role (global: its name carries the region, except the module's own names in the
    workshop's region), or None when the role is not one of this region's labs."""
    if region == DEFAULT_REGION and name == base:
        return NO_PREFIX
    suffix = f"-{region}"
    if not name.endswith(suffix):
        return None
    learner = learner_of(name.removesuffix(suffix), base)
    # the module's names keep IAM roles without the region in the workshop's region (`names_for`)
    return None if learner == NO_PREFIX and region == DEFAULT_REGION else learner


def _pages(lab: Lab, service: str, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in lab.client(service).get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tag(tags: list[dict[str, str]] | None, key: str) -> str | None:
    return next((t["Value"] for t in tags or [] if t.get("Key") == key), None)


def _vpcs(lab: Lab) -> Iterator[tuple[str, str, None]]:
    for vpc in _pages(lab, "ec2", "describe_vpcs", "Vpcs",
                      Filters=[{"Name": f"tag:{PROJECT_TAG_KEY}", "Values": [PROJECT_TAG_VALUE]}]):
        if name := _tag(vpc.get("Tags"), "Name"):
            yield name, NAMES.vpc, None


def _db_instances(lab: Lab) -> Iterator[tuple[str, str, Any]]:
    for db in _pages(lab, "rds", "describe_db_instances", "DBInstances"):
        yield db["DBInstanceIdentifier"], NAMES.db_instance, db.get("InstanceCreateTime")


def _db_subnet_groups(lab: Lab) -> Iterator[tuple[str, str, None]]:
    for group in _pages(lab, "rds", "describe_db_subnet_groups", "DBSubnetGroups"):
        yield group["DBSubnetGroupName"], NAMES.db_subnet_group, None


def _proxies(lab: Lab) -> Iterator[tuple[str, str, Any]]:
    for proxy in _pages(lab, "rds", "describe_db_proxies", "DBProxies"):
        yield proxy["DBProxyName"], NAMES.proxy, proxy.get("CreatedDate")


def _functions(lab: Lab) -> Iterator[tuple[str, str, None]]:
    for function in _pages(lab, "lambda", "list_functions", "Functions"):
        for base in (NAMES.function, NAMES.rotation_function):
            yield function["FunctionName"], base, None


def _secrets(lab: Lab) -> Iterator[tuple[str, str, Any]]:
    for secret in _pages(lab, "secretsmanager", "list_secrets", "SecretList"):
        yield secret["Name"], NAMES.secret, secret.get("CreatedDate")


def _apis(lab: Lab) -> Iterator[tuple[str, str, Any]]:
    for api in _pages(lab, "apigateway", "get_rest_apis", "items"):
        yield api["name"], NAMES.api, api.get("createdDate")


LISTINGS: tuple[Callable[[Lab], Iterator[tuple[str, str, Any]]], ...] = (
    _vpcs, _db_instances, _db_subnet_groups, _proxies, _functions, _secrets, _apis)
ROLES = (NAMES.lambda_role, NAMES.proxy_role, NAMES.rotation_role)


def candidates(lab: Lab) -> dict[str, dt.datetime | None]:
    """Every learner with a resource of the lab's names in `lab`'s region (IAM: its roles for that region), with
    the earliest creation time seen (None when only resources without one were found)."""
    found: dict[str, dt.datetime | None] = {}

    def note(learner: str | None, created: Any) -> None:
        if learner is None:
            return
        when = created if isinstance(created, dt.datetime) else None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        earliest = found.get(learner)
        found[learner] = when if earliest is None or (when is not None and when < earliest) else earliest

    for listing in LISTINGS:
        for name, base, created in listing(lab):
            note(learner_of(name, base), created)
    for role in _pages(lab, "iam", "list_roles", "Roles"):
        for base in ROLES:
            note(role_learner(role["RoleName"], base, lab.region), role.get("CreateDate"))
    return found
