"""IAM policy documents as IAM reads them, and principals as IAM and Lambda accept them.

The grammar (JSON, Version, Statement, Effect, Action's `vendor:action` form, Resource as an ARN or "*",
condition operators, Sids) is moto's validators' (`moto/iam/policy_validation.py`, written against IAM's
answers; moto applies them to PutRolePolicy and CreatePolicy but not to CreateRole's trust policy). On top:
- a trust policy (CreateRole, UpdateAssumeRolePolicy) needs a Principal, and each principal must be one IAM
  can resolve: "*"; an AWS account id or IAM ARN (a role or user of this account must exist); a service's
  full name ("lambda.amazonaws.com", not "lambda"); a federated provider. Else MalformedPolicyDocument
  'Invalid principal in policy: "SERVICE":"lambda"'.
- an identity policy (PutRolePolicy, PutUserPolicy, PutGroupPolicy, CreatePolicy, CreatePolicyVersion) must
  not name a principal: "Policy document should not specify a principal."
- Lambda's AddPermission principal: "*", an account id, an IAM ARN or a service's full name, else
  InvalidParameterValueException "The provided principal was invalid. Please check the principal and try again."
An action IAM does not know but that is well formed (`secretsmanager:NoSuchActionYet`) is accepted, as IAM
accepts it. IAM also checks a service name against its catalog of services; the local cloud has no catalog and
accepts any well-formed service name.
"""
from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from .. import moto
from .refusal import Refusal

TRUST = {("iam", "CreateRole"): "AssumeRolePolicyDocument", ("iam", "UpdateAssumeRolePolicy"): "PolicyDocument"}
IDENTITY = {("iam", op): "PolicyDocument" for op in ("PutRolePolicy", "PutUserPolicy", "PutGroupPolicy",
                                                     "CreatePolicy", "CreatePolicyVersion")}
PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")
SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\.(amazonaws\.com(\.cn)?|amazon\.com|c2s\.ic\.gov|sc2s\.sgov\.gov)")
ACCOUNT_ID = re.compile(r"\d{12}")
IAM_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::(\d{12}):(root|(user|role|assumed-role|federated-user)/.+)")
UNIQUE_ID = re.compile(r"A[A-Z0-9]{15,127}")  # a role's or user's unique id (AROA..., AIDA...)


def malformed(message: str) -> Refusal:
    return Refusal("MalformedPolicyDocument", message)


def check(service: str, operation: str, params: dict[str, Any]) -> None:
    """Refusal when the call carries a policy or principal IAM (or Lambda) would not take."""
    if (member := TRUST.get((service, operation))) and isinstance(params.get(member), str):
        check_trust_policy(params[member])
    elif (member := IDENTITY.get((service, operation))) and isinstance(params.get(member), str):
        check_identity_policy(params[member])
    elif (service, operation) == ("lambda", "AddPermission") and isinstance(params.get("Principal"), str):
        if not _lambda_principal_ok(params["Principal"]):
            raise Refusal("InvalidParameterValueException",
                          "The provided principal was invalid. Please check the principal and try again.")


OLD_VERSION = "Policy document must be version 2012-10-17 or greater."


def grammar_error(document: str, trust: bool) -> str | None:
    """moto's grammar error for the document, except where moto is stricter than IAM: IAM accepts a policy
    without Version or with "2008-10-17" (old trust policies have it) and refuses it only when it uses policy
    variables (${...}); the rest of such a document is checked as if it had the current version."""
    error = moto.iam.policy_document_error(document, trust)
    if error != OLD_VERSION or "${" in document:
        return error
    try:
        data = json.loads(document)
    except ValueError:
        return error
    if not isinstance(data, dict) or data.get("Version", "2008-10-17") != "2008-10-17":
        return error
    return moto.iam.policy_document_error(json.dumps({**data, "Version": "2012-10-17"}), trust)


def check_identity_policy(document: str) -> None:
    if (error := grammar_error(document, trust=False)) is not None:
        raise malformed(error)
    if any("Principal" in s or "NotPrincipal" in s for s in statements(document)):
        raise malformed("Policy document should not specify a principal.")


def check_trust_policy(document: str) -> None:
    if (error := grammar_error(document, trust=True)) is not None:
        raise malformed(error)
    for statement in statements(document):
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise malformed("Missing required field Principal")
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        if principal == "*":
            continue
        if not isinstance(principal, dict) or not principal:
            raise malformed("Syntax errors in policy.")
        for key, values in principal.items():
            for value in values if isinstance(values, list) else [values]:
                if key not in PRINCIPAL_KEYS or not isinstance(value, str) or not _principal_ok(key, value):
                    shown = value if isinstance(value, str) else json.dumps(value)
                    raise malformed(f'Invalid principal in policy: "{key.upper()}":"{shown}"')


def statements(document: str) -> list[dict[str, Any]]:
    """The policy's statements (a single statement object counts as one); [] when it is not a policy."""
    try:
        policy = json.loads(document)
    except ValueError:
        return []
    found = policy.get("Statement", []) if isinstance(policy, dict) else []
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def _principal_ok(key: str, value: str) -> bool:
    if key == "Service":
        return SERVICE_NAME.fullmatch(value) is not None
    if key == "AWS":
        if value == "*" or ACCOUNT_ID.fullmatch(value) or UNIQUE_ID.fullmatch(value):
            return True
        arn = IAM_ARN.fullmatch(value)
        if arn is None:
            return False
        named = arn.group(4) in ("user", "role")
        return not (named and arn.group(2) == moto.ACCOUNT) or moto.iam.iam_principal_exists(value)
    return bool(value)  # Federated (an identity provider's name or ARN), CanonicalUser


def _lambda_principal_ok(value: str) -> bool:
    return (value == "*" or ACCOUNT_ID.fullmatch(value) is not None or SERVICE_NAME.fullmatch(value) is not None
            or IAM_ARN.fullmatch(value) is not None)


def trusts(document: str | None, service_principal: str) -> bool:
    """Does this trust policy let `service_principal` (e.g. "lambda.amazonaws.com") assume the role: an Allow
    statement with sts:AssumeRole (or a wildcard matching it) for that service or "*", and no Deny for it."""
    if not document:
        return False
    allowed = False
    for statement in statements(document):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not any(fnmatch.fnmatchcase("sts:assumerole", str(a).lower()) for a in actions):
            continue
        principal = statement.get("Principal")
        names: list[str] = []
        if principal == "*":
            names = ["*"]
        elif isinstance(principal, dict):
            for key in ("Service", "AWS"):
                values = principal.get(key, [])
                names += values if isinstance(values, list) else [values]
        if service_principal in names or "*" in names:
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
