"""Module 2, the baseline Module 3 stands on: brought up, or found already there, in one call."""
from __future__ import annotations

from typing import TypedDict

from . import api, iam, lambda_fn, network, rds
from .core.config import Lab
from .core.waiting import require


class BaselineSummary(TypedDict):
    """What `ensure_baseline` found or created, one entry per step, in dependency order."""
    vpc: network.VpcView
    internet_gateway: network.InternetGatewayView
    subnets: list[network.SubnetView]
    route_table: network.RouteTableView
    security_groups: list[network.SecurityGroupView]  # lambda-sg, rds-sg
    db_subnet_group: rds.DbSubnetGroupView
    db_instance: rds.DbInstanceView
    lambda_role: iam.RoleView
    function: lambda_fn.FunctionView
    api: api.ApiView


def _ensure_module2_function(lab: Lab, db: rds.DbInstanceView) -> lambda_fn.FunctionView:
    """Module 2's function, created only when missing (its code connects to `db`'s endpoint).

    An existing function is left as it is: after Module 3 it runs Module 3's code, and running
    the prerequisites again must not undo that.
    """
    found = lambda_fn.find_function(lab)
    if found is not None:
        return found
    db_host = require(db["host"], f"endpoint of DB instance {db['name']}")
    return lambda_fn.ensure_function(
        lab, lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db_host}))


def ensure_baseline(lab: Lab) -> BaselineSummary:
    """Every Module 2 resource, in dependency order; returns what each step found or created.

    On AWS this takes 10-15 minutes the first time (the database); a re-run only looks.

        >>> baseline.ensure_baseline(lab)["db_instance"]["state"]  # 'available'
    """
    vpc = network.ensure_vpc(lab)
    internet_gateway = network.ensure_internet_gateway(lab)
    subnets = network.ensure_subnets(lab)
    route_table = network.ensure_route_table(lab)
    security_groups = [network.ensure_lambda_sg(lab), network.ensure_rds_sg(lab)]
    db_subnet_group = rds.ensure_db_subnet_group(lab)
    db_instance = rds.ensure_db_instance(lab)
    lambda_role = iam.ensure_lambda_role(lab)
    function = _ensure_module2_function(lab, db_instance)
    return BaselineSummary(vpc=vpc, internet_gateway=internet_gateway, subnets=subnets, route_table=route_table,
                           security_groups=security_groups, db_subnet_group=db_subnet_group,
                           db_instance=db_instance, lambda_role=lambda_role, function=function,
                           api=api.ensure_api(lab))
