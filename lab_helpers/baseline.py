"""Module 2, the baseline Module 3 stands on: brought up, or found already there, in one call."""
from __future__ import annotations

from typing import Any

from . import api, iam, lambda_fn, network, rds


def _ensure_module2_function(lab, db_host: str) -> dict[str, Any]:
    """Module 2's function, created only when missing.

    An existing function is left as it is: after Module 3 it runs Module 3's code, and running
    the prerequisites again must not undo that.
    """
    return lambda_fn.find_function(lab) or lambda_fn.ensure_function(
        lab, lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db_host}))


def ensure_baseline(lab) -> dict[str, Any]:
    """Every Module 2 resource, in dependency order; returns what each step found or created.

    On AWS this takes 10-15 minutes the first time (the database); a re-run only looks.
    """
    summary: dict[str, Any] = {
        "vpc": network.ensure_vpc(lab),
        "internet_gateway": network.ensure_internet_gateway(lab),
        "subnets": network.ensure_subnets(lab),
        "route_table": network.ensure_route_table(lab),
        "security_groups": [network.ensure_lambda_sg(lab), network.ensure_rds_sg(lab)],
        "db_subnet_group": rds.ensure_db_subnet_group(lab),
        "db_instance": rds.ensure_db_instance(lab),
        "lambda_role": iam.ensure_lambda_role(lab),
    }
    summary["function"] = _ensure_module2_function(lab, summary["db_instance"]["host"])
    summary["api"] = api.ensure_api(lab)
    return summary
