"""Where the lab's files are: the one place that knows the checkout's layout and the installed package's.

From a checkout (`make lab`, `make test`, an editable install) the handler sources are the
repository's `handler/` folder and the local cloud keeps its state in `.lab/` at the root. From an
installed wheel, the handler sources travel inside the package (`lab_helpers/handler/`) and the
state goes to `$XDG_STATE_HOME/optimize-serverless-lab` (by default `~/.local/state/...`).
`LAB_STATE_DIR` overrides the state folder in both cases.

    >>> paths.handler_file("module3")  # .../handler/module3/lambda_function.py
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # lab_helpers/ (this file is in lab_helpers/core/)
# The checkout this package runs from, if it does: the folder with pyproject.toml and handler/.
_ROOT = PACKAGE.parent
CHECKOUT: Path | None = _ROOT if (_ROOT / "pyproject.toml").is_file() and (_ROOT / "handler").is_dir() else None

HANDLER_ROOT = CHECKOUT / "handler" if CHECKOUT else PACKAGE / "handler"
LAMBDA_SITE = PACKAGE / "local" / "vpc" / "lambda_site"  # the Lambda environments' site hook (VPC DNS)


def handler_file(variant: str) -> Path:
    """handler/<variant>/lambda_function.py, or a ValueError that lists the variants there are."""
    path = HANDLER_ROOT / variant / "lambda_function.py"
    if not path.is_file():
        known = sorted(p.parent.name for p in HANDLER_ROOT.glob("*/lambda_function.py"))
        raise ValueError(f"unknown handler variant {variant!r}; expected one of {known}")
    return path


def state_dir() -> Path:
    """The local cloud's state folder: LAB_STATE_DIR, else `.lab/` in the checkout, else the user's state home."""
    if os.environ.get("LAB_STATE_DIR"):
        return Path(os.environ["LAB_STATE_DIR"]).resolve()
    if CHECKOUT:
        return CHECKOUT / ".lab"
    home = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(home).resolve() / "optimize-serverless-lab"


def build_dir() -> Path:
    """Where `make lab` and `make bench` write what they produce: build/ in the checkout, else ./build."""
    return (CHECKOUT or Path.cwd()) / "build"


def notebooks_dir() -> Path:
    """The lesson's notebooks (in the checkout only; the wheel carries the helpers, not the lesson)."""
    if CHECKOUT is None:
        raise FileNotFoundError("the lesson's notebooks are in the repository: run this from a checkout of it.")
    return CHECKOUT / "notebooks"


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the checkout when it is inside it."""
    return str(path.relative_to(CHECKOUT)) if CHECKOUT and path.is_relative_to(CHECKOUT) else str(path)
