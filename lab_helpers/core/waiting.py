"""How every helper looks a resource up and waits for it: the small pieces all modules share.

- `or_none`: a describe/get call, or None when AWS says the resource is not there.
- `require`: a prerequisite that must exist, else an error that says what to create first.
- `wait_for`: poll a resource until it is ready, showing the learner what is happening
  (state, elapsed time, what AWS is doing, how long it usually takes), and stop at once with
  the likely cause when it reaches a state it will not leave by itself.
- `wait_until`: poll until a condition holds, silently (short waits).
- `waiter_config`: the lab's pace for botocore waiters.
- `retry_while`: repeat a call while AWS answers an error that passes on its own
  (IAM changes still propagating, network interfaces released late), with progress when named.

Progress goes where the learner looks: in JupyterLab one line that updates in place; under
`make lab` (LAB_PROGRESS=stderr) a line on the kernel's stderr at each change and every 30 s,
which papermill copies to the terminal; elsewhere such lines on stdout. On the local target a
wait is seconds long and shows nothing (the notebooks' reference outputs stay as they are),
unless it lasts longer than LOCAL_QUIET_S.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .config import Lab

T = TypeVar("T")

PROGRESS_ENV = "LAB_PROGRESS"  # "stderr" or "stdout": progress as lines on that stream (make lab sets "stderr")
HEARTBEAT_S = 30.0  # a progress line at least this often while the state stays the same
LOCAL_QUIET_S = 10.0  # on the local target, a wait shows progress only once it lasts this long
ABSENT = "없음"  # the state shown while the resource is not (or no longer) there

# the monotonic clock and the pause between polls, replaceable in tests
_now = time.monotonic
_sleep = time.sleep


def now() -> float:
    """The clock the waits use (monotonic seconds; a fake one in tests)."""
    return _now()


def pause(seconds: float) -> None:
    """Sleep between polls, on the waits' clock."""
    _sleep(seconds)


def error_code(error: ClientError) -> str:
    """AWS's error code of a ClientError, e.g. 'ResourceNotFoundException'."""
    return error.response.get("Error", {}).get("Code", "")


def or_none(call: Callable[[], T], *codes: str) -> T | None:
    """`call()`, or None when AWS answers with one of `codes` (its "not found" errors)."""
    try:
        return call()
    except ClientError as e:
        if error_code(e) in codes:
            return None
        raise


def require(found: T | None, what: str) -> T:
    """`found`, or a LookupError naming the missing prerequisite."""
    if found is None:
        raise LookupError(f"{what} 을(를) 찾지 못했습니다: 그것을 만드는 앞 노트북(처음이라면 00_prerequisites)을 "
                          "먼저 실행하세요.")
    return found


def wait_until(lab: Lab, what: str, fetch: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Call `fetch()` every `lab.poll_interval` s until `done(result)`; return that result.

    Raises TimeoutError after `lab.poll_timeout` s, with the last result in the message.
    """
    deadline = time.monotonic() + lab.poll_timeout
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: still {result!r} after {lab.poll_timeout:.0f} s")
        time.sleep(lab.poll_interval)


def waiter_config(lab: Lab) -> dict[str, Any]:
    """WaiterConfig for a botocore waiter that polls at the lab's pace and gives up at its timeout."""
    attempts = math.ceil(lab.poll_timeout / lab.poll_interval) if lab.poll_interval > 0 else 100
    return {"Delay": lab.poll_interval, "MaxAttempts": max(1, attempts)}


def retry_while(lab: Lab, call: Callable[[], T], code: str, message_part: str = "",
                timeout: float | None = None, *, what: str | None = None, usual: str = "",
                doing: str | None = None) -> T:
    """`call()`, repeated every `lab.poll_interval` s while it fails with `code` (and a message
    containing `message_part`), for at most `timeout` s (default `lab.poll_timeout`).

    With `what` (e.g. "서브넷 rds-subnet-a 삭제"), a long retry shows progress as `wait_for` does:
    the error code as its state, `doing` as what AWS is doing, `usual` as how long it usually takes.
    """
    progress = Progress(lab, what, usual) if what else None
    started = _now()
    limit = lab.poll_timeout if timeout is None else timeout
    while True:
        try:
            result = call()
        except ClientError as e:
            passing = error_code(e) == code and message_part.lower() in str(e).lower()
            elapsed = _now() - started
            if not passing or elapsed >= limit:
                if progress:
                    progress.fail(error_code(e), elapsed)
                raise
            if progress:
                progress.update(error_code(e), elapsed, doing)
        else:
            if progress:
                progress.finish("완료", _now() - started)
            return result
        _sleep(lab.poll_interval)


# ---------------------------------------------------------------- waits the learner can watch

@dataclass(frozen=True)
class Failure:
    """A state a wait gives up on: the likely cause and what to do, in Korean.

    `after`: seconds the state must last first (0: at once). Some states pass on their own
    early on (a proxy target reports UNAVAILABLE while the proxy's IAM role propagates).
    """

    cause: str
    after: float = 0.0


class WaitFailed(RuntimeError):
    """A resource reached a state it will not leave by itself; the message says why and what to do."""

    def __init__(self, what: str, state: str, cause: str):
        self.what, self.state, self.cause = what, state, cause
        super().__init__(f"{what}: {state} 상태가 되어 더 기다려도 준비되지 않으므로 여기서 멈춥니다.\n"
                         f"가능한 원인과 할 일: {cause}")


Lookup = Mapping[str, Any] | Callable[[Any], Any] | None  # keyed by the state shown, or given the result


def _look_up(table: Lookup, result: Any, shown: str) -> Any:
    """A mapping is keyed by the state as shown; a callable gets the fetched result."""
    if table is None:
        return None
    if callable(table):
        return table(result)
    return table.get(shown)


def duration(seconds: float) -> str:
    """Seconds as a learner reads them: '45초', '3분 20초', '1시간 5분'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}초"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}분 {seconds}초" if seconds else f"{minutes}분"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}시간 {minutes}분" if minutes else f"{hours}시간"


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (JupyterLab, papermill), where a display can update in place."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Progress:
    """The progress of one wait, shown only once it is worth showing.

    On AWS from the first poll that is not done yet; on the local target once the wait has lasted
    LOCAL_QUIET_S. A wait that is done at its first poll shows nothing at all.
    """

    def __init__(self, lab: Lab, what: str, usual: str = ""):
        self.what, self.usual = what, usual
        self.quiet_for = 0.0 if lab.target == "aws" else LOCAL_QUIET_S
        stream = os.environ.get(PROGRESS_ENV, "").lower()
        self.mode = stream if stream in ("stderr", "stdout") else "display" if _in_kernel() else "stdout"
        self.shown = False
        self._handle: Any = None
        self._last: tuple[str, float] | None = None  # (state, elapsed) of the last line printed

    def update(self, state: str, elapsed: float, doing: str | None = None) -> None:
        """The wait goes on: `state`, and what AWS is doing in it."""
        if elapsed < self.quiet_for:
            return
        details = [f"{duration(elapsed)} 경과"] + ([f"보통 {self.usual}"] if self.usual else [])
        line = f"⏳ {self.what}: {state}{f' — {doing}' if doing else ''} ({', '.join(details)})"
        if self.mode == "display":  # one line, kept current at every poll
            self._show(line)
        elif self._last is None or self._last[0] != state or elapsed - self._last[1] >= HEARTBEAT_S:
            self._show(line)
            self._last = (state, elapsed)

    def finish(self, state: str, elapsed: float) -> None:
        """The wait is over: the resource is `state`."""
        if self.shown:
            self._show(f"✔ {self.what}: {state} ({duration(elapsed)} 걸림)")

    def fail(self, state: str, elapsed: float) -> None:
        """The wait ends without the resource ready: its last state stays on screen."""
        if self.shown:
            self._show(f"✖ {self.what}: {state} ({duration(elapsed)} 경과)")

    def _show(self, line: str) -> None:
        self.shown = True
        if self.mode != "display":
            print(line, file=sys.stderr if self.mode == "stderr" else sys.stdout, flush=True)
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": line}, raw=True)


def wait_for(lab: Lab, what: str, fetch: Callable[[], T | None], state: Callable[[T], str],
             done: Collection[str] | Callable[[T | None], bool], failed: Lookup = None, *,
             usual: str = "", doing: Lookup = None) -> T | None:
    """Call `fetch()` every `lab.poll_interval` s until the resource is done; return that result.

    - `state(result)`: the state as the learner sees it, e.g. "creating" (None from fetch: ABSENT);
    - `done`: the states that end the wait, or a predicate on the result;
    - `failed`: {state: cause} or result -> cause, the cause a str or a `Failure`: the states the
      resource will not leave by itself; the wait raises `WaitFailed` with the cause;
    - `usual`: how long it usually takes on AWS, e.g. "5–15분";
    - `doing`: {state: what AWS is doing} or result -> that text.

    Raises TimeoutError after `lab.poll_timeout` s, naming the last state (and its likely cause).

        >>> wait_for(lab, "DB 인스턴스 serverless-app-rds", fetch, lambda db: db["DBInstanceStatus"],
        ...          {"available"}, {"failed": "..."}, usual="5–15분", doing={"creating": "..."})
    """
    progress = Progress(lab, what, usual)
    started = _now()
    failing: tuple[str, float] | None = None  # (state, since) of a failure state that must last a while
    while True:
        result = fetch()
        shown = ABSENT if result is None else state(result)
        elapsed = _now() - started
        if done(result) if callable(done) else shown in done:
            progress.finish(shown, elapsed)
            return result
        failure = _look_up(failed, result, shown)
        if isinstance(failure, str):
            failure = Failure(failure)
        if failure is None:
            failing = None
        else:
            if failing is None or failing[0] != shown:
                failing = (shown, elapsed)
            if elapsed - failing[1] >= failure.after:
                progress.fail(shown, elapsed)
                raise WaitFailed(what, shown, failure.cause)
        if elapsed >= lab.poll_timeout:
            progress.fail(shown, elapsed)
            cause = f"\n가능한 원인과 할 일: {failure.cause}" if failure else ""
            raise TimeoutError(f"{what}: {duration(lab.poll_timeout)} 동안 기다렸지만 아직 {shown} 상태입니다"
                               f"{f' (보통 {usual})' if usual else ''}. 셀을 다시 실행하면 이어서 기다립니다.{cause}")
        now_doing = _look_up(doing, result, shown)
        if failure is not None:  # a failure state that may still pass: say how long it may last
            note = f"{duration(failure.after)} 넘게 이어지면 원인을 알려 드리고 멈춥니다"
            now_doing = f"{now_doing}; {note}" if now_doing else note
        progress.update(shown, elapsed, now_doing)
        _sleep(lab.poll_interval)
