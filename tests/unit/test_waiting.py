from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from lab_helpers.waiting import or_none, require, retry_while, wait_until, waiter_config

FAST = SimpleNamespace(poll_interval=0, poll_timeout=0.05)


def client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


def raising(*errors):
    """A call that raises each error in turn, then returns "done"; .count says how often it ran."""
    def call():
        call.count += 1
        if call.count <= len(errors):
            raise errors[call.count - 1]
        return "done"
    call.count = 0
    return call


def test_or_none_maps_not_found_to_none_and_lets_other_errors_through():
    assert or_none(lambda: 1, "NotFound") == 1
    assert or_none(raising(client_error("NotFound")), "NotFound") is None
    with pytest.raises(ClientError):
        or_none(raising(client_error("AccessDenied")), "NotFound")


def test_require_names_what_is_missing():
    assert require("x", "thing") == "x"
    with pytest.raises(LookupError, match="VPC serverless-app not found"):
        require(None, "VPC serverless-app")


def test_wait_until_returns_the_first_result_that_is_done():
    states = iter(["creating", "creating", "available"])
    assert wait_until(FAST, "db", lambda: next(states), lambda s: s == "available") == "available"


def test_wait_until_times_out_with_the_last_state():
    with pytest.raises(TimeoutError, match="proxy: still 'creating'"):
        wait_until(FAST, "proxy", lambda: "creating", lambda s: s == "available")


def test_retry_while_retries_only_the_passing_error():
    call = raising(client_error("InvalidParameterValueException", "The role cannot be assumed"))
    assert retry_while(FAST, call, "InvalidParameterValueException", "role") == "done"
    assert call.count == 2
    with pytest.raises(ClientError):
        retry_while(FAST, raising(client_error("InvalidParameterValueException", "bad runtime")),
                    "InvalidParameterValueException", "role")


def test_retry_while_gives_up_after_its_timeout():
    always = raising(*[client_error("DependencyViolation")] * 10_000)
    with pytest.raises(ClientError):
        retry_while(FAST, always, "DependencyViolation", timeout=0.01)


def test_waiter_config_follows_the_lab_pace():
    assert waiter_config(SimpleNamespace(poll_interval=5, poll_timeout=1800)) == {"Delay": 5, "MaxAttempts": 360}
    assert waiter_config(SimpleNamespace(poll_interval=0, poll_timeout=60))["Delay"] == 0
