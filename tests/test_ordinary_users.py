"""The lab as ordinary users (#17): the lesson run headless by an unprivileged account, and two learners' clouds
on one machine with default settings.

CI runs as root, where every test passes whatever root-only assumption the lab makes; these tests make (or reuse)
unprivileged accounts and run the lab as them, each on a copy of the checkout of its own with its own state folder
(`.lab` in the copy) and no LAB_LOCAL_PORT, as a learner who cloned the repository would. The account's Python is
a virtualenv of its own whose `.pth` names the copy and this virtualenv's installed packages (read-only), so nothing
is installed from the network. Run by an ordinary user, the lesson test is skipped (that user cannot become
another; `make lab` is that test) and the two clouds are that user's, in two copies.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

from lab_helpers.local import lifecycle, state
from lab_helpers.tools.classroom_bench import copy_checkout

pytestmark = pytest.mark.integration
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # by its path: the learner's PATH has no /usr/sbin
MODULE3 = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update", "05_test"]


class Learner:
    """An OS account (None: this process's user) with a copy of the checkout and a Python that runs the lab."""

    def __init__(self, account: str | None, home: Path):
        self.account, self.home = account, home
        self.checkout = home / "optimize-serverless-lab"
        self.python = str(home / "venv" / "bin" / "python") if account else sys.executable

    @property
    def state_dir(self) -> Path:
        return self.checkout / ".lab"

    def env(self) -> dict[str, str]:
        """A login's environment: no LAB_LOCAL_PORT, no LAB_STATE_DIR, nothing of this test process."""
        if not self.account:
            env = {k: v for k, v in os.environ.items() if k not in lifecycle.EXPORTED}
            return {**env, "PYTHONPATH": str(self.checkout)}
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "USER": self.account,
                "LOGNAME": self.account, "LANG": "C.UTF-8"}

    def run(self, *args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), cwd=self.checkout, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    def command(self, *args: str) -> list[str]:
        runner = [RUNUSER, "-u", self.account, "--"] if self.account else []
        return [*runner, self.python, *args]


def _as(account: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RUNUSER, "-u", account, "--", *args], capture_output=True, text=True, timeout=120)


def _base_python(account: str) -> str:
    """A Python of this virtualenv's version that `account` can run (this one's base, or the system's)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [getattr(sys, "_base_executable", ""), os.path.realpath(sys.executable),
                  shutil.which(version) or "", f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        if _as(account, candidate, "-c", "import venv").returncode == 0:
            return candidate
    pytest.skip(f"no {version} that the account {account} may run (this virtualenv's is {sys.executable}, under a "
                "folder it cannot enter): install Debian's python3 for it")


def _give_python(account: str, home: Path, checkout: Path) -> None:
    """A virtualenv of the account's own that sees the copy of the checkout and this virtualenv's packages."""
    site_dirs = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    for folder in site_dirs:
        if _as(account, "ls", folder).returncode != 0:
            pytest.skip(f"the account {account} cannot read this virtualenv's packages in {folder}: make the folders "
                        "on the way readable (o+rx), or run the test from a checkout elsewhere")
    made = _as(account, _base_python(account), "-m", "venv", "--without-pip", str(home / "venv"))
    assert made.returncode == 0, made.stderr
    found = _as(account, str(home / "venv" / "bin" / "python"), "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    pth = Path(found.stdout.strip()) / "optimize-serverless-lab.pth"
    pth.write_text("\n".join([str(checkout), *site_dirs]) + "\n")
    os.chown(pth, pwd.getpwnam(account).pw_uid, pwd.getpwnam(account).pw_gid)


def _chown_tree(folder: Path, account: str) -> None:
    entry = pwd.getpwnam(account)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


class Accounts:
    """Unprivileged accounts for the session: made when missing (and removed at the end), reused when there."""

    def __init__(self):
        self.made: list[str] = []

    def get(self, name: str) -> str:
        try:
            pwd.getpwnam(name)
        except KeyError:
            made = subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], capture_output=True,
                                  text=True)
            if made.returncode != 0:
                pytest.skip(f"cannot make the unprivileged account {name}: {made.stderr.strip()}")
            self.made.append(name)
        return name

    def remove(self) -> None:
        for name in self.made:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture(scope="module")
def accounts():
    if os.geteuid() != 0:
        pytest.skip("needs root to make an unprivileged account and run as it (CI runs as root); as an ordinary "
                    "user, `make lab` is this test")
    if not (shutil.which("useradd") and shutil.which("runuser")):
        pytest.skip("needs useradd and runuser (Debian's passwd and util-linux) to run as an unprivileged account")
    made = Accounts()
    yield made
    made.remove()


def make_learner(account: str | None, tmp: Path) -> Learner:
    """A learner with a copy of the checkout in a folder of theirs (their Python too, when another account)."""
    if account is None:
        learner = Learner(None, tmp)
        copy_checkout(learner.checkout)
        return learner
    home = Path(tempfile.mkdtemp(prefix=f"lab-{account}-"))
    learner = Learner(account, home)
    copy_checkout(learner.checkout)
    _chown_tree(home, account)
    home.chmod(0o700)
    _give_python(account, home, learner.checkout)
    return learner


def test_the_lesson_runs_headless_as_an_unprivileged_user(accounts):
    learner = make_learner(accounts.get("labtester"), Path())
    try:
        result = learner.run("-m", "lab_helpers.tools.run_lab", *MODULE3)
        said = result.stdout + result.stderr
        assert result.returncode == 0, said[-3000:]
        for n, name in enumerate(MODULE3, 1):
            assert re.search(rf"\[{n}/{len(MODULE3)}\] {name} \.\.\. ok \(", result.stdout), said[-3000:]
        assert f"all {len(MODULE3)} notebooks ran" in result.stdout
        executed = nbformat.read(learner.checkout / "build" / "notebooks" / "05_test.ipynb", as_version=4)
        text = "".join(o.get("text", "") for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs)
        assert "✅ statusCode 200 과 DB 의 현재 시각을 받았습니다. Module 3 완료!" in text
        # its own state folder, private to it, with the port it chose remembered; nothing of its cloud left running
        folder = learner.state_dir.stat()
        assert folder.st_uid == pwd.getpwnam(learner.account).pw_uid and folder.st_mode & 0o077 == 0
        assert state.remembered_port(learner.state_dir)
        assert lifecycle.lab_processes(learner.state_dir) == []
    finally:
        learner.run("-m", "lab_helpers.local", "down", timeout=120)
        shutil.rmtree(learner.home, ignore_errors=True)


@pytest.fixture
def two_learners(request, tmp_path):
    """Two learners: two unprivileged accounts as root, else this user twice (two checkouts)."""
    if os.geteuid() == 0 and shutil.which("useradd") and shutil.which("runuser"):
        made = request.getfixturevalue("accounts")
        learners = [make_learner(made.get(name), tmp_path) for name in ("labtester", "labtester2")]
    else:
        learners = [make_learner(None, tmp_path / name) for name in ("learner-a", "learner-b")]
    yield learners
    for learner in learners:
        try:
            learner.run("-m", "lab_helpers.local", "down", timeout=120)
        finally:
            if learner.account:
                shutil.rmtree(learner.home, ignore_errors=True)


def _up_at_once(learners: list[Learner]) -> list[subprocess.CompletedProcess]:
    """`python -m lab_helpers.local up` by every learner at the same moment."""
    results: list = [None] * len(learners)
    barrier = threading.Barrier(len(learners))

    def start(n: int) -> None:
        barrier.wait()
        results[n] = learners[n].run("-m", "lab_helpers.local", "up", timeout=180)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(len(learners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _endpoint(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"local cloud up at (http://127\.0\.0\.1:(\d+))", result.stdout)
    assert found, result.stdout
    return found.group(1)


def test_two_learners_clouds_with_default_settings_answer_at_once_on_ports_of_their_own(two_learners):
    first = [_endpoint(r) for r in _up_at_once(two_learners)]
    assert first[0] != first[1]
    for learner, endpoint in zip(two_learners, first, strict=True):
        assert state.health(endpoint)["database"]["healthy"] is True  # both answer, at the same time
        assert endpoint.endswith(f":{state.remembered_port(learner.state_dir)}")
        record = json.loads((learner.state_dir / "cloud.json").read_text())
        assert record["endpoint"] == endpoint
        status = learner.run("-m", "lab_helpers.local", "status", timeout=120)
        assert status.returncode == 0 and "UNHEALTHY" not in status.stdout and endpoint in status.stdout, status.stdout
        # a kernel of this learner finds its own cloud (Lab.connect("local") reads the state folder)
        found = learner.run("-c", "from lab_helpers.core.config import Lab; print(Lab.connect('local').endpoint_url)",
                            timeout=120)
        assert found.stdout.strip() == endpoint, found.stderr
    for learner in two_learners:
        down = learner.run("-m", "lab_helpers.local", "down", timeout=120)
        assert "local cloud stopped" in down.stdout, down.stderr
    again = [_endpoint(r) for r in _up_at_once(two_learners)]
    assert again == first  # found again after down/up: the learners' URLs stay the same
