"""Several learners on one machine: each state folder's cloud gets a port of its own, remembers it, and starts one
at a time; the state folder is private; the database binaries are found where their packages put them."""
from __future__ import annotations

import multiprocessing
import os
import pwd
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from lab_helpers.local import LocalCloudError, lifecycle, state
from lab_helpers.local.ports import HOST, PortClaim, free_port, is_free
from lab_helpers.local.rds import mariadb


@pytest.fixture(autouse=True)
def no_port_setting(monkeypatch):
    monkeypatch.delenv("LAB_LOCAL_PORT", raising=False)


def listening(port: int = 0) -> socket.socket:
    """Another program listening on 127.0.0.1 (on `port`, or any)."""
    sock = socket.socket()
    sock.bind((HOST, port))
    sock.listen()
    return sock


def chosen(root, default: int, port: int | None = None) -> int:
    with lifecycle.claim_port(root, port, default=default) as claim:
        return claim.port


def test_the_default_port_when_free_and_it_is_remembered(tmp_path):
    default = free_port()
    assert chosen(tmp_path, default) == default
    assert state.remembered_port(tmp_path) == default
    assert (tmp_path / "port").read_text().strip() == str(default)
    assert lifecycle.endpoint_port(None, tmp_path) == default


def test_a_busy_default_gives_another_port_which_is_kept_after_the_default_is_free_again(tmp_path):
    with listening() as other:
        default = other.getsockname()[1]
        first = chosen(tmp_path, default)
        assert first != default and is_free(first)
    assert is_free(default)
    assert chosen(tmp_path, default) == first  # the learner's URLs stay the same across down/up
    assert state.remembered_port(tmp_path) == first


def test_a_remembered_port_another_program_took_is_replaced_and_said(tmp_path, capsys):
    default = free_port()
    state.remember_port(tmp_path, default)
    with listening(default):
        new = chosen(tmp_path, default)
    assert new != default and state.remembered_port(tmp_path) == new
    said = capsys.readouterr().err
    assert f"port {default}" in said and f"now uses port {new}" in said


def test_lab_local_port_wins_and_is_not_remembered(tmp_path, monkeypatch):
    remembered, given = free_port(), free_port()
    state.remember_port(tmp_path, remembered)
    monkeypatch.setenv("LAB_LOCAL_PORT", str(given))
    assert chosen(tmp_path, remembered) == given
    assert lifecycle.endpoint_port(None, tmp_path) == given
    assert state.remembered_port(tmp_path) == remembered
    explicit = free_port()
    assert chosen(tmp_path, remembered, port=explicit) == explicit  # an explicit port (--port) wins over both


def test_a_given_port_in_use_is_an_error_that_names_it(tmp_path, monkeypatch):
    with listening() as other:
        port = other.getsockname()[1]
        monkeypatch.setenv("LAB_LOCAL_PORT", str(port))
        with pytest.raises(LocalCloudError, match=rf"port {port} .* in use .* LAB_LOCAL_PORT"):
            chosen(tmp_path, free_port())
    assert state.remembered_port(tmp_path) is None


def test_a_port_claimed_by_a_starting_cloud_is_not_chosen(tmp_path):
    default = free_port()
    with PortClaim.take(default):  # another learner's cloud is starting on it (not bound yet)
        assert is_free(default)
        assert PortClaim.take(default) is None
        assert chosen(tmp_path, default) != default
    again = PortClaim.take(default)
    assert again is not None
    again.release()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the abstract socket namespace is Linux's")
def test_a_claim_goes_away_with_its_process():
    port = free_port()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from lab_helpers.local.ports import PortClaim
        claim = PortClaim.take({port})
        print("held" if claim else "refused", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert PortClaim.take(port) is None
    finally:
        holder.kill()
        holder.wait()
    claim = PortClaim.take(port)
    assert claim is not None
    claim.release()


def _choose_at_once(root, default, barrier, ports, done):
    barrier.wait()
    with lifecycle.claim_port(root, None, default=default) as claim:
        ports.put(claim.port)
        done.wait(30)  # held, as `up` holds it until the endpoint is bound


def test_two_folders_choosing_at_the_same_moment_get_two_ports(tmp_path):
    ctx = multiprocessing.get_context("fork")
    default, barrier, ports, done = free_port(), ctx.Barrier(4), ctx.Queue(), ctx.Event()
    workers = [ctx.Process(target=_choose_at_once, args=(tmp_path / f"learner{n}", default, barrier, ports, done))
               for n in range(4)]
    for n, worker in enumerate(workers):
        (tmp_path / f"learner{n}").mkdir()
        worker.start()
    try:
        got = [ports.get(timeout=30) for _ in workers]
    finally:
        done.set()
        for worker in workers:
            worker.join(30)
    assert len(set(got)) == 4 and default in got
    assert sorted(state.remembered_port(tmp_path / f"learner{n}") for n in range(4)) == sorted(got)


def test_the_lock_lets_one_start_or_stop_at_a_time(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from lab_helpers.local import state
        with state.lock(Path({str(tmp_path)!r})):
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LocalCloudError, match=r"another start or stop of the local cloud .* has not finished"):
            with state.lock(tmp_path, timeout=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    with state.lock(tmp_path, timeout=5):  # its holder is gone: the lock is free (flock goes with the process)
        pass


def test_the_state_folder_is_private(tmp_path):
    root = state.prepare(tmp_path / "a" / ".lab")
    mode = stat.S_IMODE(root.stat().st_mode)
    if os.geteuid() != 0:
        assert mode == 0o700
    else:  # the engine runs as `mysql` and passes through to its own folder; nobody else gets in
        assert mode in (0o700, 0o710) and not mode & 0o007
        if mode == 0o710:
            import grp

            assert grp.getgrgid(root.stat().st_gid).gr_name == mariadb.ENGINE_ACCOUNT
    root.chmod(0o755)  # a folder made by an older version, or by hand
    assert not stat.S_IMODE(state.prepare(root).stat().st_mode) & 0o007


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_a_state_folder_of_another_user_says_what_to_do(tmp_path):
    root = tmp_path / ".lab"
    root.mkdir()
    os.chown(root, pwd.getpwnam("nobody").pw_uid, -1)
    with pytest.raises(LocalCloudError, match=r"belongs to another user .* LAB_STATE_DIR"):
        state.prepare(root)


def test_the_admin_account_is_the_os_user():
    assert mariadb.admin_user() == pwd.getpwuid(os.geteuid()).pw_name


def fake_program(folder, name: str, version: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return path


def test_the_server_is_found_on_path_and_mysql_is_told_apart(tmp_path, monkeypatch):
    monkeypatch.setattr(mariadb, "SERVER_FOLDERS", ())
    oracle = fake_program(tmp_path / "oracle", "mysqld", "mysqld  Ver 8.4.3 for Linux (MySQL Community Server - GPL)")
    monkeypatch.setenv("PATH", str(oracle.parent))
    refused = r"is not MariaDB's server .* apt-get install -y mariadb-server fonts-noto-cjk"
    with pytest.raises(LocalCloudError, match=refused):
        mariadb.find_mariadbd()
    brew = fake_program(tmp_path / "homebrew" / "bin", "mysqld", "mysqld  Ver 11.4.2-MariaDB for osx10.19 on arm64")
    monkeypatch.setenv("PATH", os.pathsep.join([str(oracle.parent), str(brew.parent)]))
    assert mariadb.find_mariadbd() == str(brew)
    named = fake_program(tmp_path / "named", "mariadbd", "")
    monkeypatch.setenv("PATH", os.pathsep.join([str(named.parent), str(oracle.parent)]))
    assert mariadb.find_mariadbd() == str(named)


def test_the_server_is_found_in_the_packages_places_off_path(tmp_path, monkeypatch):
    place = fake_program(tmp_path / "opt" / "homebrew" / "bin", "mariadbd", "")
    monkeypatch.setattr(mariadb, "SERVER_FOLDERS", (str(place.parent),))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert mariadb.find_mariadbd() == str(place)
    monkeypatch.setattr(mariadb, "SERVER_FOLDERS", ())
    missing = r"apt-get install -y mariadb-server fonts-noto-cjk`.*brew install mariadb"
    with pytest.raises(LocalCloudError, match=missing):
        mariadb.find_mariadbd()


def test_install_db_of_the_same_installation_comes_first(tmp_path, monkeypatch):
    server = fake_program(tmp_path / "usr" / "sbin", "mariadbd", "")
    own = fake_program(tmp_path / "usr" / "bin", "mariadb-install-db", "")
    other = fake_program(tmp_path / "elsewhere", "mysql_install_db", "")
    monkeypatch.setattr(mariadb, "SERVER_FOLDERS", ())
    monkeypatch.setenv("PATH", str(other.parent))
    assert mariadb.find_install_db(str(server)) == str(own)
    assert mariadb.find_install_db() == str(other)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LocalCloudError, match=r"apt-get install -y mariadb-server fonts-noto-cjk"):
        mariadb.find_install_db()


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file")
def test_a_lock_in_a_folder_one_cannot_write_says_what_to_do(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(LocalCloudError, match=r"cannot open .*lock .* LAB_STATE_DIR"):
            with state.lock(tmp_path):
                pass
    finally:
        tmp_path.chmod(0o700)
