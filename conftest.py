"""Session set-up shared by tests/ and the notebooks (nbval).

- `fresh_cloud`: a local cloud of its own for a test module (`lifecycle.fresh`), exported through
  LAB_STATE_DIR and LAB_LOCAL_PORT so that notebook kernels and `Lab.connect("local")` find it.
- When notebooks are collected, their kernels get such a cloud for the whole session.
- Notebook cells need the local cloud, hence MariaDB: they are marked `integration`, like every
  test that needs it, so that `pytest -m "not integration"` runs everything else.
"""
from __future__ import annotations

import contextlib

import pytest

from lab_helpers.local import lifecycle

_SESSION = contextlib.ExitStack()


def _is_notebook(item) -> bool:
    return item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_notebook(item):
            item.add_marker(pytest.mark.integration)


def pytest_collection_finish(session):
    if any(_is_notebook(item) for item in session.items):
        _SESSION.enter_context(lifecycle.fresh("lab-nbval-", export=True))


def pytest_sessionfinish(session, exitstatus):
    _SESSION.close()


@pytest.fixture(scope="module")
def fresh_cloud():
    """A local cloud of this test module's own, found through the environment while it runs."""
    with lifecycle.fresh("lab-test-", export=True) as info:
        yield info
