"""Session set-up shared by tests/ and the notebooks (nbval).

When notebooks are collected, their kernels get a fresh local cloud of their own: a new state
folder and a free port (the kernels inherit these variables), stopped when the session ends.
"""
from __future__ import annotations

import os
import tempfile

NBVAL_STATE = {}


def pytest_collection_finish(session):
    if not any(item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid for item in session.items):
        return
    from lab_helpers.local.ports import free_port

    root = tempfile.mkdtemp(prefix="lab-nbval-")
    os.environ["LAB_STATE_DIR"] = root
    os.environ["LAB_LOCAL_PORT"] = str(free_port())
    NBVAL_STATE["root"] = root


def pytest_sessionfinish(session, exitstatus):
    if "root" in NBVAL_STATE:
        from lab_helpers.local import lifecycle

        lifecycle.down(NBVAL_STATE.pop("root"))
