"""The names of what the measurements deploy next to the lab (the only part cleanup needs to know).

    >>> function_name(lab, "storm")  # 'serverless-app-lambda-storm'
"""
from __future__ import annotations

from ..core.config import Lab

# Suffixes of the functions the measurements deploy next to the lab's function.
FUNCTION_SUFFIXES = {"module2": "m2", "module3_printed": "printed", "module3": "m3",
                     "storm": "storm", "pinning": "pinning", "cached": "cached"}
PARAMETER_GROUP_SUFFIX = "measure"


def function_name(lab: Lab, key: str) -> str:
    """The name of a measurement function, e.g. function_name(lab, "storm") -> serverless-app-lambda-storm."""
    return f"{lab.names.function}-{FUNCTION_SUFFIXES[key]}"


def function_names(lab: Lab) -> list[str]:
    """Every function the measurements may deploy (what cleanup removes)."""
    return [function_name(lab, key) for key in FUNCTION_SUFFIXES]


def parameter_group_name(lab: Lab) -> str:
    """The DB parameter group the measurements lower max_connections with: `<db instance>-measure`."""
    return f"{lab.names.db_instance}-{PARAMETER_GROUP_SUFFIX}"
