"""The proxy's loop keeps polling for a moment instead of sleeping, while one client's statements come and go.

A relay puts two wake-ups on each statement's round trip: the proxy's, when the statement arrives, and again
when its answer does. Waking a sleeping process costs far more than relaying: where idle CPUs sleep deeply (a
virtual machine whose guest does not poll before it halts, as this project's host), a wake-up on another CPU
takes tens of microseconds. Measured here with one client, `SELECT 1`: a byte relay in C (socat) added as much
as the raw relay in Python, 0.05-0.07 ms; the same Python relay that polled for 50 µs after each packet added
0.03 ms.

So, once the relay in callbacks (fast_path.py) has handed a statement to the database, or its answer to the
client, the proxy's loop runs on for `window` seconds (a callback that schedules itself again: the loop checks
its sockets without waiting and runs whatever arrived). The answer, or the client's next statement, is then
read by a loop that is awake. That costs CPU while one client's statements come in a row (the loop is busy
all the while: 10-20 µs a statement more, measured with `SELECT 1` in a loop), `window` after the client's last
one, and nothing once the client stops. The window, 200 µs, is longer than a client's or the database's turn
(tens of µs) even when the machine is slow: with 50 µs the polls ended before the next packet came in some
rounds of `make bench`, and the proxy added as much as without polling.

Only while one session is at it: when another session's statement came within QUIET seconds, the loop has work
enough of its own, and the CPU it would spin on belongs to the clients and the database. And only while the CPU
is free: when a turn of the poll comes more than PREEMPTED seconds after the last (the kernel gave the CPU to
another process meanwhile, as it does on a busy machine: a classroom's server, say, or the loop itself was
busy), the loop sleeps again and does not poll for a pause: 10 ms the first time, twice as long each time
again, half as long after each poll that kept the CPU, 1 s at most (PAUSES). A machine too busy for polling
loses most polls: its loops then poll once a second at most. Never with less than two CPUs to use
(`default_window`): the loop would spin on the CPU that the database and the client need.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from time import perf_counter

WINDOW = 200e-6  # seconds the loop polls after a statement or an answer went on
QUIET = 1e-3  # seconds since another session's statement, at least, before the loop polls for this one
PREEMPTED = 1e-3  # seconds between two turns of a poll that show the CPU was wanted elsewhere
PAUSES = (0.01, 1.0)  # seconds without polling after that: the first time, and at most (see BusyPoll._poll)


def usable_cpus(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")) -> float:
    """The CPUs this process may use: those it may run on, or its cgroup's CPU quota if lower (cgroup v2's
    cpu.max, v1's cpu.cfs_quota_us)."""
    cpus = float(len(os.sched_getaffinity(0)))
    try:
        for line in proc_cgroup.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            files: tuple[Path, ...]
            if controllers == "":
                files = (root / path.lstrip("/") / "cpu.max",)
            elif "cpu" in controllers.split(","):
                folder = root / controllers / path.lstrip("/")
                files = (folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us")
            else:
                continue
            if not all(f.is_file() for f in files):
                continue
            quota, period = " ".join(f.read_text() for f in files).split()[:2]
            if quota not in ("max", "-1"):
                cpus = min(cpus, int(quota) / int(period))
    except (OSError, ValueError):
        pass
    return cpus


def default_window() -> float:
    """WINDOW, or 0 (no polling) where fewer than two CPUs are this process's to use."""
    return WINDOW if usable_cpus() >= 2 else 0.0


class BusyPoll:
    """One proxy's loop polling on after its relay's writes (see the module's text); `window` 0: never."""

    def __init__(self, window: float = WINDOW):
        self.window = window
        self.polls = 0  # times the loop started polling instead of sleeping (a stat; `seconds`: for how long)
        self.lost = 0  # polls that stopped because they lost the CPU (a stat)
        self._polled = 0.0  # seconds, the polls that ended
        self._started = 0.0
        self._until = 0.0  # the loop polls until then
        self._loop: asyncio.AbstractEventLoop | None = None  # set while it polls
        self._owner = 0  # id() of the session that poked last, and when
        self._last = 0.0
        self._turn = 0.0  # the poll's last turn
        self._off_until = 0.0  # no polling until then: several sessions are at it, or the CPU was wanted elsewhere
        self._pause = PAUSES[0]  # after the next poll that loses the CPU

    def poke(self, owner: object) -> None:
        """A statement or an answer of `owner`'s session went on: poll for the next packet (on the running loop)."""
        now = perf_counter()
        if id(owner) != self._owner:
            if now - self._last < QUIET:
                self._off_until = max(self._off_until, now + QUIET)
            self._owner = id(owner)
        self._last = now
        if now < self._off_until or not self.window:
            return
        self._until = now + self.window
        if self._loop is None:
            self.polls += 1
            self._started = self._turn = now
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._poll)

    @property
    def polling(self) -> bool:
        return self._loop is not None

    @property
    def seconds(self) -> float:
        """How long the loop has polled in all, the poll going on included."""
        return self._polled + (perf_counter() - self._started if self.polling else 0.0)

    def _poll(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = perf_counter()
        low, high = PAUSES
        if now - self._turn > PREEMPTED:  # the pause doubles each time; a poll that keeps the CPU halves it
            self.lost += 1
            self._off_until = now + self._pause
            self._pause = min(self._pause * 2, high)
        elif now < self._until:
            self._turn = now
            loop.call_soon(self._poll)  # (the loop checks its sockets, without waiting, before it runs this again)
            return
        else:
            self._pause = max(self._pause / 2, low)
        self._loop = None
        self._polled += now - self._started
