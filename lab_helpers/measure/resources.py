"""Cleanup: every measurement resource deleted and every setting put back, and what is left of them."""
from __future__ import annotations

from ..config import Lab
from .cloud import FUNCTION_SUFFIXES, function_name, parameter_group_name
from .functions import delete_measurement_function, find_measurement_function
from .settings import find_measurement_parameter_group, restore_settings

def remove_measurement_resources(lab: Lab) -> list[dict[str, str]]:
    """Every setting back and every measurement resource deleted; safe to run twice.
    One row per resource: {"resource", "name", "result": "deleted" | "already gone"}."""
    rows = [{"resource": "DB parameter group", "name": parameter_group_name(lab),
             "result": "deleted" if restore_settings(lab) else "already gone"}]
    for key in FUNCTION_SUFFIXES:
        rows.append({"resource": "Lambda function", "name": function_name(lab, key),
                     "result": "deleted" if delete_measurement_function(lab, key) else "already gone"})
    return rows


def measurement_leftovers(lab: Lab) -> list[dict[str, str]]:
    """Measurement resources that still exist (empty after `remove_measurement_resources`)."""
    left = [{"resource": "Lambda function", "name": function_name(lab, key)}
            for key in FUNCTION_SUFFIXES if find_measurement_function(lab, key)]
    if find_measurement_parameter_group(lab):
        left.insert(0, {"resource": "DB parameter group", "name": parameter_group_name(lab)})
    return left
