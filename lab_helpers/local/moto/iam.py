"""IAM in moto: a role's policies and moto's policy evaluation, policy grammar as IAM reads it, principals, and
trust policies.
"""
from __future__ import annotations

import json

from .contract import ACCOUNT, assumption


def role_policies(role_arn: str) -> list[object] | None:
    """The role's managed and inline policies (opaque, for `policies_allow`), or None when no such role exists."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'].get_role_by_arn(arn)"):
        backend = iam_backends[ACCOUNT]["global"]
    try:
        role = backend.get_role_by_arn(role_arn)
    except NotFoundException:
        return None
    with assumption("Role.managed_policies maps ARNs to ManagedPolicy, Role.policies maps names to JSON documents"):
        return list(role.managed_policies.values()) + list(role.policies.values())


def policies_allow(policies: list[object], action: str, resource: str) -> bool:
    """Identity-based policies' verdict: an explicit Deny wins, else some Allow is needed (moto's evaluator)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    with assumption("moto.iam.access_control.IAMPolicy(policy).is_action_permitted(action, resource)"):
        results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
        return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results




def policy_document_error(document: str, trust: bool) -> str | None:
    """IAM's MalformedPolicyDocument message for a policy's grammar, as moto's validators (written against
    IAM's answers) give it: a trust policy's, or an identity policy's; None when the grammar holds."""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

    with assumption("moto.iam.policy_validation.IAM(Trust)PolicyDocumentValidator(document).validate() raises "
                    "MalformedPolicyDocument with .message"):
        validator = (IAMTrustPolicyDocumentValidator if trust else IAMPolicyDocumentValidator)(document)
        try:
            validator.validate()
        except MalformedPolicyDocument as e:
            return str(getattr(e, "message", "") or e)
    return None


def iam_principal_exists(arn: str) -> bool:
    """Does the local account have this role or user (an IAM principal ARN)?"""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'] with get_role_by_arn and users {name: User(arn)}"):
        backend = iam_backends[ACCOUNT]["global"]
        if ":role/" in arn:
            try:
                backend.get_role_by_arn(arn)
                return True
            except NotFoundException:
                return False
        return any(user.arn == arn for user in backend.users.values())


def role_trust_policy(role_arn: str) -> str | None:
    """The role's trust policy (AssumeRolePolicyDocument) as JSON text, or None when no such role exists."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'].get_role_by_arn(arn).assume_role_policy_document"):
        backend = iam_backends[ACCOUNT]["global"]
        try:
            document = backend.get_role_by_arn(role_arn).assume_role_policy_document
        except NotFoundException:
            return None
    return document if isinstance(document, str) else json.dumps(document)


