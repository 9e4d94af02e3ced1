"""Is it the lab's? Every resource the lab creates carries its project tag (`lab:project`); one with the
same name but without the tag (left from the original workshop, or someone else's) is never adopted,
changed or deleted.

- The `*_tagged(lab, found)` checks answer for a resource found by name (cleanup uses them too).
- `require_lab(kind, name, tagged)` is what every `ensure_*` calls before it would change a resource it
  found by name: it stops with a Korean message that names the resource and says what to do.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import PROJECT_TAG_KEY, PROJECT_TAG_VALUE, Lab


class NotTheLabs(RuntimeError):
    """A resource of the lab's name exists without the lab's tags: the lab will not touch it."""


def has_project_tag(tags: Mapping[str, str] | list[dict[str, str]] | None) -> bool:
    """Whether AWS's tags (a mapping, or [{"Key": …, "Value": …}]) include the lab's project tag."""
    if not tags:
        return False
    mapping = tags if isinstance(tags, Mapping) else {t["Key"]: t["Value"] for t in tags}
    return mapping.get(PROJECT_TAG_KEY) == PROJECT_TAG_VALUE


def require_lab(kind: str, name: str, tagged: bool) -> None:
    """Stop (NotTheLabs) before changing a resource of the lab's name that is not the lab's."""
    if not tagged:
        raise NotTheLabs(
            f"{kind} {name!r} 가 이미 있지만 이 실습의 태그({PROJECT_TAG_KEY}={PROJECT_TAG_VALUE})가 없습니다. 원래 "
            "워크숍에서 손으로 만들었거나 다른 사람이 만든 것일 수 있어, 이 실습은 그것을 바꾸거나 지우지 않고 여기서 "
            "멈춥니다. 그 리소스가 필요 없다면 직접 지운 뒤 다시 실행하거나, 00_prerequisites 의 learner 에 "
            "이름을 주어 다른 이름으로 실습하세요.")


def ec2_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether an EC2 resource (a raw answer with Tags, or a view with its id) carries the lab's project tag."""
    if "Tags" in found:
        return has_project_tag(found["Tags"])
    tags = lab.client("ec2").describe_tags(Filters=[
        {"Name": "resource-id", "Values": [found["id"]]},
        {"Name": "key", "Values": [PROJECT_TAG_KEY]}, {"Name": "value", "Values": [PROJECT_TAG_VALUE]}])["Tags"]
    return bool(tags)


def rds_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether an RDS resource (by its ARN) carries the lab's project tag."""
    return has_project_tag(lab.client("rds").list_tags_for_resource(ResourceName=found["arn"])["TagList"])


def role_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether an IAM role carries the lab's project tag."""
    return has_project_tag(lab.client("iam").list_role_tags(RoleName=found["name"])["Tags"])


def function_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether a Lambda function (by its ARN) carries the lab's project tag."""
    return has_project_tag(lab.client("lambda").list_tags(Resource=found["arn"])["Tags"])


def api_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether a REST API carries the lab's project tag."""
    if "tags" in found:
        return has_project_tag(found["tags"])
    return has_project_tag(lab.client("apigateway").get_rest_api(restApiId=found["id"]).get("tags", {}))


def secret_tagged(lab: Lab, found: Mapping[str, Any]) -> bool:
    """Whether a secret carries the lab's project tag."""
    if "Tags" in found or "ARN" in found:  # DescribeSecret's own answer (no Tags at all when it has none)
        return has_project_tag(found.get("Tags"))
    return has_project_tag(lab.client("secretsmanager").describe_secret(SecretId=found["arn"]).get("Tags", []))
