"""Notebook 06 and `make bench`: why the secret cache, connection reuse and RDS Proxy matter, measured.

Module 3 claims three things without showing them: connecting inside the handler is slow, a
module-scope connection exhausts the database's connections as Lambda scales, and RDS Proxy
fixes that without code changes. Each measurement runs on the local cloud only and returns plain
data (dicts and lists, ready for json.dump); `remove_measurement_resources` puts back all they change.

`measure.<name>` loads the submodule that defines it on first use, so that importing one part
(cleanup imports `measure.registration`) never loads the others (the local cloud's).

- `names`: the names of what they deploy.
- `cloud`: the local-only guard, the cloud's health, the database's counters.
- `functions`: prerequisites; the measurement functions deployed, found, deleted, invoked; outcomes tallied.
- `invoke_durations`: 1. warm Lambda Duration of Module 2, Module 3 as printed, the project's Module 3; TLS's cost.
- `iam_durations`: beyond the module (08): cold and warm Duration with an IAM token against the secret.
- `parameter_group`: the AWS calls that lower and restore max_connections and the proxy's pool.
- `settings`: those settings read back from the local database, and lowered for a measurement.
- `connection_storm`: 2. more concurrent executions than max_connections, directly and through the proxy.
- `pinning_pitfall`: 3. a handler that never commits holds its pooled connection (9501), then the fix.
- `db_failover`: 4. the database restarts under steady load; what direct and proxy clients see.
- `registration`: what they add, registered with cleanup (entry point `lab_helpers.cleanup`).
- `resources`: every measurement resource deleted and every setting put back; what is left.
- `charts`: an HTML table of measured values and one chart per measurement.
"""
from __future__ import annotations

import importlib
from typing import Any

# every public name of the package -> the submodule that defines it
_WHERE = {
    "names": ("FUNCTION_SUFFIXES", "PARAMETER_GROUP_SUFFIX", "function_name", "function_names", "parameter_group_name"),
    "cloud": ("LocalOnly", "ThreadsSampler", "cloud_info", "db_max_connections", "db_threads_connected", "health",
              "proxy_stats", "require_local"),
    "functions": ("FUNCTION_TIMEOUT_S", "MYSQL_CODE", "REPORT_DURATION", "REPORT_INIT", "checked",
                  "delete_measurement_function", "deploy_pinning", "deploy_storm", "deploy_variant",
                  "find_measurement_function", "invoke", "invoke_concurrently", "lambda_client",
                  "missing_prerequisites", "prepare", "tally"),
    "invoke_durations": ("VARIANTS", "durations", "percentile", "printed_to_project_ratio", "tls_attempt_cost"),
    "iam_durations": ("AUTH_VARIANTS", "token_function", "token_vs_secret"),
    "parameter_group": ("RESTORE_PREFIX", "find_measurement_parameter_group", "replaced_settings", "restore_settings"),
    "settings": ("current_settings", "lower_connections"),
    "connection_storm": ("TOO_MANY_CONNECTIONS", "storm"),
    "pinning_pitfall": ("BORROW_TIMEOUT", "pinning"),
    "db_failover": ("failover",),
    "resources": ("measurement_leftovers", "remove_measurement_resources"),
    "charts": ("COLORS", "VARIANT_LABELS", "chart_durations", "chart_failover", "chart_pinning", "chart_storm",
               "html_table"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
