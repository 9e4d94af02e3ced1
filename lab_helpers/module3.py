"""Module 3 in one call: every step of the module, in order, on top of the Module 2 baseline.

The notebooks take these steps one cell at a time; tests, benchmarks and a learner who wants
to catch up use `ensure_module3(lab)`.
"""
from __future__ import annotations

import difflib
from typing import TypedDict

from . import iam, lambda_fn, network, proxy, secrets
from .core.config import DEFAULT_REGION, NAMES, Lab


class Module3Summary(TypedDict):
    """What `ensure_module3` found or created, one entry per step, in the module's order."""
    secret: secrets.SecretView
    dns_hostnames: network.DnsHostnamesView
    secret_sg: network.SecurityGroupView
    secrets_endpoint: network.VpcEndpointView
    rds_sg_self: network.SecurityGroupView  # rds-sg, now also admitting MySQL from itself (the proxy)
    proxy: proxy.ProxyView
    function_policy: iam.InlinePolicyView
    function: lambda_fn.FunctionView


def function_environment(lab: Lab) -> dict[str, str]:
    """What Module 3's function is told: which secret to read, and the proxy's read/write endpoint."""
    return {"SECRET_NAME": lab.names.secret, "DB_HOST": proxy.proxy_endpoint(lab)}


# The literals of the module's printed code (Step 3, item 4) that name the module's own secret and region.
PRINTED_SECRET_LITERAL = f'secret_name = "{NAMES.secret}"'
PRINTED_REGION_LITERAL = f'region_name = "{DEFAULT_REGION}"'


def printed_edits(lab: Lab) -> dict[str, str]:
    """What the learner changes in the module's printed code: the proxy's endpoint over 'YOUR RDS PROXY
    ENDPOINT' (item 5), and, when this lab's secret name or region is not the module's, those literals."""
    edits = {lambda_fn.PROXY_ENDPOINT_PLACEHOLDER: proxy.proxy_endpoint(lab)}
    if lab.names.secret != NAMES.secret:
        edits[PRINTED_SECRET_LITERAL] = f'secret_name = "{lab.names.secret}"'
    if lab.region != DEFAULT_REGION:
        edits[PRINTED_REGION_LITERAL] = f'region_name = "{lab.region}"'
    return edits


def printed_package(lab: Lab) -> bytes:
    """The module's printed function with the learner's edits (`printed_edits`), as a deployment package."""
    return lambda_fn.build_package("module3_printed", printed_edits(lab))


def printed_diff(lab: Lab) -> str:
    """The learner's edits to the printed code as a unified diff (only the changed lines and their neighbours)."""
    before = lambda_fn.show_code("module3_printed")
    after = before
    for old, new in printed_edits(lab).items():
        after = after.replace(old, new)
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        "원문 코드", "배포하는 코드", n=1))


def deploy_printed_function(lab: Lab) -> lambda_fn.FunctionView:
    """Step 3.4-6 as the module has the learner do it: the printed code with the proxy's endpoint (and, for
    another learner or region, the secret's name and the region) written in, and no environment variables."""
    return lambda_fn.ensure_function(lab, printed_package(lab))


def deploy_improved_function(lab: Lab) -> lambda_fn.FunctionView:
    """The lab's improved Module 3 function (notebook 06): the secret name and proxy endpoint as environment
    variables; secret and connection kept per execution environment, certificate verified, reconnects."""
    return lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"), function_environment(lab))


def ensure_module3(lab: Lab) -> Module3Summary:
    """Every step of Module 3, in order, on a lab whose Module 2 baseline is up; returns what each step gave.

    SecretsManagerReadWrite (Step 3.3 as printed) ends up detached: the function's role keeps only
    the least-privilege inline policy.

    The function runs the module's printed code (`deploy_printed_function`), as after notebook 04;
    `deploy_improved_function` puts the lab's improved function in its place, as notebook 06 ends.

        >>> module3.ensure_module3(lab)["function"]["code_sha256"]  # the printed code's, with the endpoint in it
    """
    secret = secrets.ensure_secret(lab)  # Step 1.1-6
    dns_hostnames = network.enable_dns_hostnames(lab)  # Step 1.8-9
    secret_sg = network.ensure_secret_sg(lab)  # Step 1.10-12
    secrets_endpoint = network.ensure_secrets_endpoint(lab)  # Step 1.13-17
    rds_sg_self = network.allow_rds_sg_self(lab)  # Step 2.7: the rule the proxy needs
    db_proxy = proxy.ensure_proxy(lab)  # Step 2.2-9 (with its IAM role)
    function_policy = iam.ensure_function_secret_policy(lab, secret["arn"])  # Step 3.2-3, least privilege
    iam.detach_secrets_manager_read_write(lab)
    return Module3Summary(secret=secret, dns_hostnames=dns_hostnames, secret_sg=secret_sg,
                          secrets_endpoint=secrets_endpoint, rds_sg_self=rds_sg_self, proxy=db_proxy,
                          function_policy=function_policy, function=deploy_printed_function(lab))
