from lab_helpers import lambda_fn
from lab_helpers.baseline import ensure_baseline


def test_baseline_is_built_once_then_only_found(lab, calls):
    first = ensure_baseline(lab)
    assert list(first) == ["vpc", "internet_gateway", "subnets", "route_table", "security_groups",
                           "db_subnet_group", "db_instance", "lambda_role", "function", "api"]
    assert first["api"]["stage"] == "dev" and first["db_instance"]["state"] == "available"
    assert "Passw0rd" not in repr(first)
    handler = lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: first["db_instance"]["host"]})
    assert first["function"]["code_sha256"] == lambda_fn.code_sha256(handler)
    calls.clear()
    assert ensure_baseline(lab) == first
    assert calls.mutating() == []


def test_baseline_leaves_module_3_code_alone(lab, calls):
    ensure_baseline(lab)
    module3 = lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"), {"SECRET_NAME": "s", "DB_HOST": "h"})
    calls.clear()
    assert ensure_baseline(lab)["function"] == module3
    assert calls.mutating() == []
