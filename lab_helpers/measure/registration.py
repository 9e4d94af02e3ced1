"""What the measurements add next to the lab, registered with cleanup (entry point group `lab_helpers.cleanup`).

Cleanup runs on AWS too, so this module imports only the lesson's AWS helpers, never the local
cloud: the measurement functions (found and deleted with `lambda_fn`), and the DB parameter group
that lowered max_connections (removed by putting the replaced settings back first, before the
proxy is deleted).
"""
from __future__ import annotations

from .. import cleanup, lambda_fn, log_groups
from ..core import ownership
from ..core.config import Lab
from .names import FUNCTION_SUFFIXES, function_name, parameter_group_name
from .parameter_group import find_measurement_parameter_group, restore_settings


def _function(key: str) -> cleanup.Resource:
    return cleanup.Resource("Lambda 함수 (측정용)", lambda lab: function_name(lab, key),
                            lambda lab: lambda_fn.find_function(lab, function_name(lab, key)),
                            ownership.function_tagged,
                            lambda lab: lambda_fn.delete_function(lab, function_name(lab, key)))


def _log_group(key: str) -> cleanup.Resource:
    return cleanup.Resource("CloudWatch Logs 로그 그룹 (측정용)",
                            lambda lab: log_groups.name_of(function_name(lab, key)),
                            lambda lab: log_groups.find_log_group(lab, function_name(lab, key)),
                            lambda lab, found: log_groups.is_lab(lab, function_name(lab, key)),
                            lambda lab: log_groups.delete_log_group(lab, function_name(lab, key)))


def _parameter_group_name(lab: Lab) -> str:
    return parameter_group_name(lab)


RESOURCES: tuple[cleanup.Resource, ...] = (
    *(_function(key) for key in FUNCTION_SUFFIXES),
    *(_log_group(key) for key in FUNCTION_SUFFIXES),
    cleanup.Resource("DB 파라미터 그룹 (측정용)", _parameter_group_name, find_measurement_parameter_group,
                     ownership.rds_tagged, restore_settings),
)
