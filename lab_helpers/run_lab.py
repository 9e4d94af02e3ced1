"""Run the lesson notebooks headless, in order, with papermill: `make lab` and `make notebooks`.

    python -m lab_helpers.run_lab                         # local cloud, executed copies in build/notebooks/
    python -m lab_helpers.run_lab --target aws --confirm-costs
    python -m lab_helpers.run_lab --refresh               # rewrite the committed reference outputs

On the local target it starts the local cloud first unless one is already running (then it
leaves it running), and stops what it started at the end. It prints each notebook with its time,
and on a failure names the notebook and the cell and exits non-zero.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import nbformat

from . import local, paths
from .config import DEFAULT_REGION
from .local import lifecycle

BUILD = paths.build_dir() / "notebooks"
LESSON = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update",
          "05_test", "06_connection_lab", "99_cleanup"]


class NotebookFailed(RuntimeError):
    def __init__(self, notebook: str, cell: int | None, error: str):
        self.notebook, self.cell, self.error = notebook, cell, error
        where = f", cell {cell}" if cell is not None else ""
        super().__init__(f"{notebook}{where}: {error}")


def lesson(names: list[str] | None = None) -> list[Path]:
    """The lesson's notebooks (or those named), in order."""
    return [paths.notebooks_dir() / f"{name}.ipynb" for name in (names or LESSON)]


def scrub(path: Path) -> None:
    """Drop what papermill adds that changes on every run (timings, ids), so a refresh diffs cleanly."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def _kernel_manager_class():
    from jupyter_client.manager import KernelManager
    from traitlets import CaselessStrEnum

    class LocalSocketKernelManager(KernelManager):
        """The kernel talks over local sockets: nothing on the network, no plain-TCP warning."""

        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return LocalSocketKernelManager


def run_notebook(source: Path, output: Path, parameters: dict | None = None) -> float:
    """Execute one notebook with papermill into `output`; its seconds, or NotebookFailed."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    accepted = papermill.inspect_notebook(str(source))  # each notebook gets the parameters its cell has
    parameters = {name: value for name, value in (parameters or {}).items() if name in accepted}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(source), str(output), parameters=parameters or None, kernel_name="python3",
                                   cwd=str(source.parent), progress_bar=False, log_output=False,
                                   kernel_manager_class=_kernel_manager_class())
    except PapermillExecutionError as e:
        raise NotebookFailed(source.name, e.exec_count, f"{e.ename}: {e.evalue}") from None
    return time.perf_counter() - started


def run(names: list[str] | None = None, out_dir: Path = BUILD, parameters: dict | None = None,
        refresh: bool = False, echo=print) -> list[tuple[str, float]]:
    """Execute the notebooks in order; return (notebook, seconds) for each."""
    notebooks = lesson(names)
    times = []
    for n, source in enumerate(notebooks, 1):
        output = source if refresh else out_dir / source.name
        echo(f"[{n}/{len(notebooks)}] {source.stem} ...", end=" ", flush=True)
        try:
            seconds = run_notebook(source, output, parameters)
        except NotebookFailed:
            echo("FAILED")
            raise
        if refresh:
            scrub(output)
        echo(f"ok ({seconds:.1f} s)")
        times.append((source.stem, seconds))
    return times


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.run_lab`: `make lab` and `make notebooks`."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.run_lab", description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=["local", "aws"], default=os.environ.get("LAB_TARGET", "local"))
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--confirm-costs", action="store_true", help="accept the AWS costs (target aws)")
    parser.add_argument("--refresh", action="store_true", help="rewrite the reference outputs in notebooks/")
    parser.add_argument("--out", type=Path, default=BUILD)
    parser.add_argument("notebooks", nargs="*", help="names without .ipynb (default: the whole lesson)")
    args = parser.parse_args(argv)
    if args.refresh and args.target != "local":
        parser.error("--refresh makes the reference outputs on the local target only")

    parameters = None
    if args.target != "local" or args.region != DEFAULT_REGION:
        parameters = {"target": args.target, "region": args.region, "confirm_costs": args.confirm_costs}

    with contextlib.ExitStack() as cloud:
        if args.refresh:  # reference outputs come from a fresh cloud of their own, whatever else is running
            info = cloud.enter_context(lifecycle.fresh("lab-refresh-", export=True))
        elif args.target == "local":
            if local.status().get("running") is not True:  # stop at the end what was started here
                cloud.callback(local.down)
            info = local.up()
        if args.refresh or args.target == "local":
            print(f"local cloud at {info['endpoint']}")
        started = time.perf_counter()
        try:
            times = run(args.notebooks or None, args.out, parameters, args.refresh)
        except NotebookFailed as e:
            print(f"error: notebook {e.notebook} failed at cell {e.cell}: {e.error}", file=sys.stderr)
            return 1
    where = "notebooks/ (reference outputs)" if args.refresh else paths.shown(args.out)
    print(f"all {len(times)} notebooks ran in {time.perf_counter() - started:.1f} s; executed copies in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
