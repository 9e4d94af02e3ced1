"""IdleClientTimeout: a client that sends nothing for so long has its connection closed, at the cost of
two attribute writes per message (no task, no timer per message on the relay's hot path)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable


class IdleTimer:
    """IdleClientTimeout for one session without a timer per message: the session marks when it starts
    waiting for the client's next message (`waiting`, `since`); one timer handle, set again only when it
    fires, ends the session's task once the client has sent nothing for the timeout (`expired` says why
    the task was cancelled). The timeout is read from the settings at each wait, as it can change."""

    __slots__ = ("_loop", "_task", "_timeout", "_armed", "_handle", "_waiting", "since", "expired")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[None], timeout: Callable[[], float]):
        self._loop, self._task, self._timeout = loop, task, timeout
        self._waiting, self.since, self.expired = False, loop.time(), False
        self._armed = timeout()
        self._handle = loop.call_at(self.since + self._armed, self._check)

    @property
    def waiting(self) -> bool:
        return self._waiting

    @waiting.setter
    def waiting(self, value: bool) -> None:
        if value:
            self.since = self._loop.time()
            if self._timeout() != self._armed:  # the setting changed: the timer follows it now
                self._handle.cancel()
                self._check()
        self._waiting = value

    def stop(self) -> None:
        self._handle.cancel()

    def _check(self) -> None:
        timeout = self._armed = self._timeout()
        now = self._loop.time()
        if self._waiting and now - self.since >= timeout:
            self.expired = True
            self._task.cancel()
            return
        self._handle = self._loop.call_at((self.since if self._waiting else now) + timeout, self._check)
