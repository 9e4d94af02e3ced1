from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from lab_helpers.core import waiting
from lab_helpers.core.waiting import (
    ABSENT,
    Failure,
    WaitFailed,
    duration,
    or_none,
    require,
    retry_while,
    wait_for,
    wait_until,
    waiter_config,
)

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
    with pytest.raises(LookupError, match=r"VPC serverless-app 을\(를\) 찾지 못했습니다: .* 00_prerequisites"):
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


# ---------------------------------------------------------------- wait_for: progress and terminal states


AWS = SimpleNamespace(target="aws", poll_interval=5, poll_timeout=1800)
LOCAL = SimpleNamespace(target="local", poll_interval=0.2, poll_timeout=60)


def states(*sequence):
    """A fetch that answers each state in turn (as {"State": ...}, None for ABSENT), then the last one forever."""
    answers = list(sequence)

    def fetch():
        value = answers.pop(0) if len(answers) > 1 else answers[0]
        return None if value is None else {"State": value}
    return fetch


def shown(result):
    return result["State"]


def test_duration_reads_as_a_learner_reads_it():
    assert [duration(s) for s in (0, 45, 60, 200, 3600, 3725)] == [
        "0초", "45초", "1분", "3분 20초", "1시간", "1시간 2분"]


def test_progress_on_aws_a_line_at_each_change_and_a_heartbeat_every_30_s(clock, capsys):
    fetch = states(*["creating"] * 10, "backing-up", "available")
    result = wait_for(AWS, "DB 인스턴스 serverless-app-rds", fetch, shown, {"available"}, usual="5–15분",
                      doing={"creating": "인스턴스를 만드는 중"})
    assert result == {"State": "available"}
    assert capsys.readouterr().out.splitlines() == [
        "⏳ DB 인스턴스 serverless-app-rds: creating — 인스턴스를 만드는 중 (0초 경과, 보통 5–15분)",
        "⏳ DB 인스턴스 serverless-app-rds: creating — 인스턴스를 만드는 중 (30초 경과, 보통 5–15분)",
        "⏳ DB 인스턴스 serverless-app-rds: backing-up (50초 경과, 보통 5–15분)",
        "✔ DB 인스턴스 serverless-app-rds: available (55초 걸림)"]


def test_nothing_is_shown_when_there_is_nothing_to_wait_for(clock, capsys):
    assert wait_for(AWS, "DB", states("available"), shown, {"available"}) == {"State": "available"}
    assert capsys.readouterr() == ("", "")


def test_the_quick_local_path_prints_nothing(clock, capsys):
    """Local waits take a poll or two: the notebooks' reference outputs must not change."""
    wait_for(LOCAL, "DB", states("creating", "creating", "available"), shown, {"available"}, usual="5–15분")
    wait_for(LOCAL, "DB", states(*["creating"] * 49, "available"), shown, {"available"})  # 9.8 s
    assert capsys.readouterr() == ("", "")


def test_a_slow_local_wait_shows_progress_once_it_lasts(clock, capsys):
    wait_for(LOCAL, "DB", states(*["creating"] * 60, "available"), shown, {"available"})
    assert capsys.readouterr().out.splitlines() == ["⏳ DB: creating (10초 경과)", "✔ DB: available (12초 걸림)"]


def test_progress_goes_to_stderr_under_make_lab(clock, capsys, monkeypatch):
    monkeypatch.setenv(waiting.PROGRESS_ENV, "stderr")
    wait_for(AWS, "엔드포인트", states("pending", "available"), shown, {"available"}, usual="1–3분")
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["⏳ 엔드포인트: pending (0초 경과, 보통 1–3분)", "✔ 엔드포인트: available (5초 걸림)"]


def test_in_jupyterlab_one_line_updates_in_place(clock, capsys, monkeypatch):
    import IPython.display

    shown_lines = []

    class Handle:
        def update(self, data, raw):
            shown_lines.append(("update", data["text/plain"]))

    def display(data, raw, display_id):
        assert raw is True and display_id is True
        shown_lines.append(("display", data["text/plain"]))
        return Handle()

    monkeypatch.setattr(waiting, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    wait_for(AWS, "RDS Proxy p", states("creating", "creating", "available"), shown, {"available"})
    assert shown_lines == [("display", "⏳ RDS Proxy p: creating (0초 경과)"),
                           ("update", "⏳ RDS Proxy p: creating (5초 경과)"),  # the clock moves at every poll
                           ("update", "✔ RDS Proxy p: available (10초 걸림)")]
    assert capsys.readouterr() == ("", "")


def test_a_terminal_state_fails_at_once_with_the_likely_cause(clock, capsys):
    with pytest.raises(WaitFailed) as failed:
        wait_for(AWS, "VPC 엔드포인트", states("pending", "failed"), shown, {"available"},
                 {"failed": "서브넷에 IP 주소가 없습니다."}, usual="1–3분")
    assert (failed.value.what, failed.value.state) == ("VPC 엔드포인트", "failed")
    assert str(failed.value) == ("VPC 엔드포인트: failed 상태가 되어 더 기다려도 준비되지 않으므로 여기서 멈춥니다.\n"
                                 "가능한 원인과 할 일: 서브넷에 IP 주소가 없습니다.")
    assert isinstance(failed.value, RuntimeError)
    assert capsys.readouterr().out.splitlines()[-1] == "✖ VPC 엔드포인트: failed (5초 경과)"


def test_a_failure_that_may_pass_must_last_before_the_wait_gives_up(clock, capsys):
    failed = {"UNAVAILABLE": Failure("로그인 실패", after=60)}
    # 55 s of UNAVAILABLE, then AVAILABLE: it passed on its own
    assert wait_for(AWS, "대상", states(*["UNAVAILABLE"] * 12, "AVAILABLE"), shown, {"AVAILABLE"}, failed)
    assert "UNAVAILABLE — 1분 넘게 이어지면 원인을 알려 드리고 멈춥니다 (30초 경과)" in capsys.readouterr().out
    # UNAVAILABLE, REGISTERING (the count starts again), then UNAVAILABLE for 60 s
    clock[0] = 0.0
    fetch = states(*["UNAVAILABLE"] * 10, "REGISTERING", *["UNAVAILABLE"] * 20)
    with pytest.raises(WaitFailed, match="로그인 실패"):
        wait_for(AWS, "대상", fetch, shown, {"AVAILABLE"}, failed)
    assert clock[0] == 115  # UNAVAILABLE from 0 s, REGISTERING at 50 s, UNAVAILABLE again from 55 s: 60 s at 115 s


def test_a_missing_resource_is_shown_as_absent(clock, capsys):
    fetch = states(None, "available")
    assert wait_for(AWS, "엔드포인트", fetch, shown, {"available"}) == {"State": "available"}
    assert capsys.readouterr().out.splitlines()[0] == f"⏳ 엔드포인트: {ABSENT} (0초 경과)"
    assert wait_for(AWS, "삭제", states("deleting", None), shown, {ABSENT}) is None


def test_a_timeout_names_the_state_the_usual_time_and_the_cause(clock):
    lab = SimpleNamespace(target="aws", poll_interval=5, poll_timeout=20)
    with pytest.raises(TimeoutError) as timeout:
        wait_for(lab, "대상", states("UNAVAILABLE"), shown, {"AVAILABLE"},
                 {"UNAVAILABLE": Failure("로그인 실패", after=600)}, usual="1–5분")
    assert str(timeout.value) == ("대상: 20초 동안 기다렸지만 아직 UNAVAILABLE 상태입니다 (보통 1–5분). 셀을 다시 "
                                  "실행하면 이어서 기다립니다.\n가능한 원인과 할 일: 로그인 실패")


def test_done_and_failed_and_doing_may_look_at_the_whole_result(clock, capsys):
    def failed(result):
        return "대상이 없습니다" if result["State"] == "empty" else None
    assert wait_for(AWS, "x", states("a", "b"), shown, lambda r: r["State"] == "b", failed,
                    doing=lambda r: f"{r['State']} 하는 중") == {"State": "b"}
    assert capsys.readouterr().out.splitlines()[0] == "⏳ x: a — a 하는 중 (0초 경과)"
    with pytest.raises(WaitFailed, match="대상이 없습니다"):
        wait_for(AWS, "x", states("empty"), shown, lambda r: False, failed)


def test_retry_while_shows_progress_when_named(clock, capsys):
    call = raising(*[client_error("DependencyViolation")] * 7)
    assert retry_while(AWS, call, "DependencyViolation", what="서브넷 rds-subnet-a 삭제", usual="최대 40분",
                       doing="ENI 해제를 기다리는 중") == "done"
    assert capsys.readouterr().out.splitlines() == [
        "⏳ 서브넷 rds-subnet-a 삭제: DependencyViolation — ENI 해제를 기다리는 중 (0초 경과, 보통 최대 40분)",
        "⏳ 서브넷 rds-subnet-a 삭제: DependencyViolation — ENI 해제를 기다리는 중 (30초 경과, 보통 최대 40분)",
        "✔ 서브넷 rds-subnet-a 삭제: 완료 (35초 걸림)"]
    retry_while(LOCAL, raising(client_error("DependencyViolation")), "DependencyViolation", what="서브넷")
    assert capsys.readouterr() == ("", "")
