"""The proxy's loop polls on after its relay's writes while one session is at it, and sleeps again after its
window (busy_poll.py)."""
from __future__ import annotations

import asyncio
import os
import time

import uvloop

from lab_helpers.local.rds.proxy import busy_poll
from lab_helpers.local.rds.proxy.busy_poll import QUIET, BusyPoll


def run(coroutine) -> None:
    uvloop.run(coroutine)


def test_a_poke_polls_for_the_window_then_the_loop_sleeps_and_uses_no_cpu():
    async def main() -> None:
        poll = BusyPoll(window=0.02)
        poll.poke("a session")
        assert poll.polling and poll.polls == 1
        poll.poke("a session")  # a poke while it polls: the same poll, for longer
        assert poll.polls == 1
        await asyncio.sleep(0.05)
        assert not poll.polling
        used = time.thread_time()
        await asyncio.sleep(0.3)
        assert time.thread_time() - used < 0.1  # asleep, not polling

    run(main())


def test_no_polling_while_several_sessions_take_turns_and_again_once_one_is_alone(monkeypatch):
    monkeypatch.setattr(busy_poll, "PAUSES", (0, 0))  # (a busy machine may take the CPU from a poll of this test's)

    async def main() -> None:
        poll = BusyPoll(window=0.01)
        poll.poke("one")
        assert poll.polls == 1
        for _ in range(20):  # each within QUIET of the other's: several sessions are at it
            poll.poke("another")
            poll.poke("one")
        await asyncio.sleep(0.02)
        assert poll.polls == 1 and not poll.polling  # (the first poll was not made longer either)
        await asyncio.sleep(QUIET * 2)
        poll.poke("one")  # alone again
        assert poll.polling and poll.polls == 2
        await asyncio.sleep(0.01)

    run(main())


def test_a_window_of_zero_never_polls():
    async def main() -> None:
        poll = BusyPoll(window=0)
        poll.poke("a session")
        assert not poll.polling and poll.polls == 0

    run(main())


def test_a_poll_that_lost_the_cpu_stops_and_the_loop_pauses_polling_twice_as_long_each_time(monkeypatch):
    monkeypatch.setattr(busy_poll, "PAUSES", (0.1, 0.2))

    async def lose_the_cpu(poll: BusyPoll) -> None:
        poll.poke("a session")
        assert poll.polling
        asyncio.get_running_loop().call_soon(time.sleep, busy_poll.PREEMPTED * 3)  # (as if preempted)
        await asyncio.sleep(0.005)  # within the window
        assert not poll.polling
        poll.poke("a session")
        assert not poll.polling  # paused

    async def main() -> None:
        poll = BusyPoll(window=0.01)
        await lose_the_cpu(poll)
        await asyncio.sleep(0.15)  # past the first pause (0.1 s)
        await lose_the_cpu(poll)
        await asyncio.sleep(0.15)  # within the second (0.2 s)
        poll.poke("a session")
        assert not poll.polling
        await asyncio.sleep(0.1)
        poll.poke("a session")
        assert poll.polling and poll.polls == 3 and poll.lost == 2
        await asyncio.sleep(0.02)

    run(main())


def test_the_cpus_to_use_are_the_affinitys_or_the_cgroups_quota_if_lower(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/learner\n")
    v2 = tmp_path / "v2" / "user.slice" / "learner"
    v2.mkdir(parents=True)
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert busy_poll.usable_cpus(proc, tmp_path / "v2") == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert busy_poll.usable_cpus(proc, tmp_path / "v2") == 4
    proc.write_text("4:memory:/x\n2:cpu,cpuacct:/docker/abc\n0::/\n")
    v1 = tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert busy_poll.usable_cpus(proc, tmp_path / "v1") == 1
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert busy_poll.usable_cpus(proc, tmp_path / "v1") == 4
    assert busy_poll.usable_cpus(tmp_path / "no such file", tmp_path) == 4


def test_no_polling_with_less_than_two_cpus_to_use(monkeypatch):
    monkeypatch.setattr(busy_poll, "usable_cpus", lambda: 1.0)
    assert busy_poll.default_window() == 0
    monkeypatch.setattr(busy_poll, "usable_cpus", lambda: 2.0)
    assert busy_poll.default_window() == busy_poll.WINDOW
