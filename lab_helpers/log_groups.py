"""The functions' CloudWatch Logs log groups (`/aws/lambda/<function>`).

Lambda creates a function's log group on its first invocation, untagged, and never deletes it. The
lab creates it first, with the lab's tags, so that cleanup can tell it is the lab's and delete it
with the function.
"""
from __future__ import annotations

from typing import Any, TypedDict

from .core.config import Lab
from .core.waiting import or_none


class LogGroupView(TypedDict):
    name: str
    arn: str
    stored_bytes: int


def name_of(function: str) -> str:
    return f"/aws/lambda/{function}"


def _logs(lab: Lab) -> Any:  # a boto3 client
    return lab.client("logs")


def _raw(lab: Lab, function: str) -> dict[str, Any] | None:
    name = name_of(function)
    for page in _logs(lab).get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        groups: list[dict[str, Any]] = page["logGroups"]
        for group in groups:
            if group["logGroupName"] == name:
                return group
    return None


def find_log_group(lab: Lab, function: str | None = None) -> LogGroupView | None:
    """The function's log group (the lab's function by default), or None."""
    group = _raw(lab, function or lab.names.function)
    if group is None:
        return None
    return LogGroupView(name=group["logGroupName"], arn=group["arn"].removesuffix(":*"),
                        stored_bytes=int(group.get("storedBytes", 0)))


def ensure_log_group(lab: Lab, function: str, module: int) -> LogGroupView:
    """The function's log group, created with the lab's tags if missing (before the function, which then
    writes into it)."""
    if _raw(lab, function) is None:
        or_none(lambda: _logs(lab).create_log_group(logGroupName=name_of(function), tags=lab.tag_map(module)),
                "ResourceAlreadyExistsException")
    found = find_log_group(lab, function)
    assert found is not None
    return found


def is_lab(lab: Lab, function: str) -> bool:
    """Whether the function's log group carries the lab's project tag."""
    from .core.config import PROJECT_TAG_KEY, PROJECT_TAG_VALUE

    group = find_log_group(lab, function)
    if group is None:
        return False
    tags: dict[str, str] = _logs(lab).list_tags_for_resource(resourceArn=group["arn"]).get("tags", {})
    return tags.get(PROJECT_TAG_KEY) == PROJECT_TAG_VALUE


def delete_log_group(lab: Lab, function: str | None = None) -> bool:
    """Delete the function's log group; False when it was already gone."""
    name = name_of(function or lab.names.function)
    return or_none(lambda: _logs(lab).delete_log_group(logGroupName=name) or True,
                   "ResourceNotFoundException") is not None
