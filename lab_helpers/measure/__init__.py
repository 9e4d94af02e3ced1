"""Notebook 06 and `make bench`: why the secret cache, connection reuse and RDS Proxy matter, measured.

Module 3 claims three things without showing them: connecting inside the handler is slow, a
module-scope connection exhausts the database's connections as Lambda scales, and RDS Proxy
fixes that without code changes. Each measurement runs on the local cloud only and returns plain
data (dicts and lists, ready for json.dump); `remove_measurement_resources` puts back all they change.

- `cloud`: names of what they deploy, the local-only guard, the cloud's health, the database's counters.
- `functions`: prerequisites; the measurement functions deployed, found, deleted, invoked; outcomes tallied.
- `invoke_durations`: 1. warm Lambda Duration of Module 2, Module 3 as printed, the project's Module 3; TLS's cost.
- `settings`: the database's max_connections and the proxy's pool lowered, read back and restored.
- `connection_storm`: 2. more concurrent executions than max_connections, directly and through the proxy.
- `pinning_pitfall`: 3. a handler that never commits holds its pooled connection (9501), then the fix.
- `db_failover`: 4. the database restarts under steady load; what direct and proxy clients see.
- `resources`: every measurement resource deleted and every setting put back; what is left.
- `charts`: an HTML table of measured values and one chart per measurement.
"""
from .charts import COLORS, VARIANT_LABELS, chart_durations, chart_failover, chart_pinning, chart_storm, html_table
from .cloud import (FUNCTION_SUFFIXES, PARAMETER_GROUP_SUFFIX, LocalOnly, ThreadsSampler, cloud_info,
                    db_max_connections, db_threads_connected, function_name, function_names, health,
                    parameter_group_name, proxy_stats, require_local)
from .invoke_durations import VARIANTS, durations, printed_to_project_ratio, tls_attempt_cost
from .db_failover import failover
from .functions import (FUNCTION_TIMEOUT_S, MYSQL_CODE, REPORT_DURATION, REPORT_INIT, delete_measurement_function,
                        find_measurement_function, invoke, invoke_concurrently, missing_prerequisites, prepare)
from .pinning_pitfall import BORROW_TIMEOUT, pinning
from .resources import measurement_leftovers, remove_measurement_resources
from .settings import (RESTORE_PREFIX, current_settings, find_measurement_parameter_group, lower_connections,
                       replaced_settings, restore_settings)
from .connection_storm import TOO_MANY_CONNECTIONS, storm

__all__ = [
    # cloud
    "FUNCTION_SUFFIXES", "PARAMETER_GROUP_SUFFIX", "LocalOnly", "ThreadsSampler", "cloud_info", "db_max_connections",
    "db_threads_connected", "function_name", "function_names", "health", "parameter_group_name", "proxy_stats",
    "require_local",
    # functions
    "FUNCTION_TIMEOUT_S", "MYSQL_CODE", "REPORT_DURATION", "REPORT_INIT", "delete_measurement_function",
    "find_measurement_function", "invoke", "invoke_concurrently", "missing_prerequisites", "prepare",
    # durations
    "VARIANTS", "durations", "printed_to_project_ratio", "tls_attempt_cost",
    # settings
    "RESTORE_PREFIX", "current_settings", "find_measurement_parameter_group", "lower_connections",
    "replaced_settings", "restore_settings",
    # storm, pinning, failover
    "TOO_MANY_CONNECTIONS", "storm", "BORROW_TIMEOUT", "pinning", "failover",
    # resources
    "measurement_leftovers", "remove_measurement_resources",
    # charts
    "COLORS", "VARIANT_LABELS", "chart_durations", "chart_failover", "chart_pinning", "chart_storm", "html_table",
]
