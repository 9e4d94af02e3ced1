"""One row per learner's lab in the account and region: how far the learner got, what bills, since when.

A candidate from `discover` becomes a row only when 99_cleanup would find something of that learner's lab
(`cleanup.leftovers`, the same look-ups and tag checks): a resource of a lab-like name without the lab's tag
is never counted. How far the learner got is read from what exists, notebook by notebook:

    00  the Module 2 baseline: VPC, DB instance, function and REST API ("00 (partial)" while some are missing)
    01  the secret                 02  the Secrets Manager interface endpoint      03  RDS Proxy
    04  the function's code is no longer Module 2's, or its role has the inline policy for the secret
    07  the rotation function, or rotation turned on for the secret

05 (the test) and 06 (the measurements, which remove what they add) leave nothing to see.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from .. import api, cleanup, iam, lambda_fn, network, proxy, rds, secrets
from ..core.config import Lab, names_for
from ..core.ownership import api_tagged, ec2_tagged, function_tagged, rds_tagged, secret_tagged
from .discover import NO_PREFIX, candidates

SHOWN_NO_PREFIX = "-"  # how the lab with the module's own names is shown, and named on the command line


class LearnerRow(TypedDict):
    learner: str  # "-" for the module's own names
    notebooks: str  # e.g. "00-04", "00-03, 07", "00 (partial)"
    resources: int  # the lab's resources that 99_cleanup level="all" would remove
    billable: int  # of them, the ones billed by the hour
    usd_per_hour: float
    age: str  # since the oldest resource with a creation time ("?" when none has one)


def shown(learner: str) -> str:
    return learner or SHOWN_NO_PREFIX


def parse(learner: str) -> str:
    """A learner as the command line names it ("-" for the module's own names)."""
    return NO_PREFIX if learner == SHOWN_NO_PREFIX else learner


def lab_for(lab: Lab, learner: str) -> Lab:
    """A Lab on the same target and region as `lab` with `learner`'s names and a session of its own (so that
    several learners' cleanups can run side by side)."""
    names = names_for(learner, lab.region)
    if lab.target == "local":
        return Lab.local(lab.endpoint_url, lab.region, names)
    return Lab.connect(lab.target, lab.region, names=names)


def _present(found: Mapping[str, Any] | None, tagged: Callable[[Lab, Mapping[str, Any]], bool], lab: Lab) -> bool:
    return found is not None and tagged(lab, found)


def _module3_function(lab: Lab, function: lambda_fn.FunctionView, db: rds.DbInstanceView | None) -> bool:
    """Whether the function runs Module 3's code (04): environment variables, or code that is not Module 2's."""
    if function["environment"]:
        return True
    if db is None or not db["host"]:
        return False
    module2 = lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: db["host"]})
    return function["code_sha256"] != lambda_fn.code_sha256(module2)


def reached(lab: Lab) -> list[str]:
    """The notebooks whose resources exist in `lab` (see the module's docstring), e.g. ["00", "01", "02"]."""
    vpc, db = network.find_vpc(lab), rds.find_db_instance(lab)
    function, rest_api = lambda_fn.find_function(lab), api.find_api(lab)
    function = function if _present(function, function_tagged, lab) else None
    baseline = [_present(vpc, ec2_tagged, lab), _present(db, rds_tagged, lab), function is not None,
                _present(rest_api, api_tagged, lab)]
    secret = secrets.find_secret(lab)
    secret = secret if _present(secret, secret_tagged, lab) else None
    rotation = lambda_fn.find_function(lab, lab.names.rotation_function)
    steps = {
        "00": all(baseline),
        "01": secret is not None,
        "02": _present(network.find_secrets_endpoint(lab), ec2_tagged, lab),
        "03": _present(proxy.find_proxy(lab), rds_tagged, lab),
        "04": function is not None and (_module3_function(lab, function, db)
                                        or iam.find_function_secret_policy(lab) is not None),
        "07": _present(rotation, function_tagged, lab) or bool(secret and secret["rotation_enabled"]),
    }
    out = [step for step, ok in steps.items() if ok]
    if not steps["00"] and any(baseline):
        out.insert(0, "00 (partial)")
    return out


def compact(steps: list[str]) -> str:
    """["00", "01", "02", "07"] -> "00-02, 07"."""
    runs: list[list[str]] = []
    for step in steps:
        if runs and step.isdigit() and runs[-1][-1].isdigit() and int(step) == int(runs[-1][-1]) + 1:
            runs[-1].append(step)
        else:
            runs.append([step])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs) or "-"


def age(since: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """How long ago, e.g. "3d 04h", "2h 05m", "12m"; "?" when unknown."""
    if since is None:
        return "?"
    minutes = max(0, int(((now or dt.datetime.now(dt.UTC)) - since).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours:02d}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def row(lab: Lab, learner: str, since: dt.datetime | None = None) -> LearnerRow | None:
    """The row of `learner`'s lab, or None when nothing of it (carrying the lab's tag) is there."""
    own = lab_for(lab, learner)
    left = cleanup.leftovers(own, "all")
    if not left:
        return None
    billing = cleanup.still_billing(own)
    return LearnerRow(learner=shown(learner), notebooks=compact(reached(own)), resources=len(left),
                      billable=sum(1 for b in billing if b["usd_per_hour"] > 0),
                      usd_per_hour=round(sum(b["usd_per_hour"] for b in billing), 4), age=age(since))


def roster(lab: Lab) -> list[LearnerRow]:
    """Every learner's lab in `lab`'s account and region, by learner."""
    found = candidates(lab)
    rows = [row(lab, learner, since) for learner, since in sorted(found.items())]
    return [r for r in rows if r is not None]


def billing(lab: Lab, learners: list[str]) -> list[dict[str, Any]]:
    """What of these learners' labs bills by the hour: learner, resource, name, USD per hour."""
    return [{"learner": shown(learner), **b} for learner in learners
            for b in cleanup.still_billing(lab_for(lab, learner)) if b["usd_per_hour"] > 0]
