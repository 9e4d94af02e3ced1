"""`make lab`'s notebook kernels talk over unix sockets of their own: two runs from one checkout at once
never share a socket (jupyter_client's default names them `kernel-ipc-<port>` in the working folder)."""
from __future__ import annotations

from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

from lab_helpers.tools import run_lab


def test_each_kernel_gets_sockets_of_its_own_in_the_users_runtime_folder():
    manager = run_lab.kernel_manager_class()
    first, second = manager(), manager()
    assert first.transport == "ipc"
    assert first.ip != second.ip
    for kernel in (first, second):
        assert Path(kernel.ip).parent == Path(jupyter_runtime_dir()) and Path(kernel.ip).is_absolute()
