"""Run the lesson notebooks headless, in order, with papermill: `make lab` and `make notebooks`.

    python -m lab_helpers.tools.run_lab                         # local cloud, executed copies in build/notebooks/
    python -m lab_helpers.tools.run_lab --target aws --confirm-costs --region us-east-1 --learner kim01
    python -m lab_helpers.tools.run_lab -p level all 99_cleanup   # any notebook parameter, as papermill's -p
    python -m lab_helpers.tools.run_lab --target aws --confirm-costs -p tags "CostCenter=1234" \\
        -p permissions_boundary arn:aws:iam::123456789012:policy/LabBoundary   # what an organisation requires
    python -m lab_helpers.tools.run_lab --refresh               # rewrite the committed reference outputs

On the local target it starts the local cloud first unless one is already running (then it
leaves it running), and stops what it started at the end. It prints each notebook with its time,
and on a failure names the notebook and the cell and exits non-zero; on AWS it then lists what of the
lab bills now, with the one command that removes it.
"""
from __future__ import annotations

import argparse
import configparser
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import nbformat

from .. import local
from ..core import paths, waiting

if TYPE_CHECKING:  # imported where used: it loads slowly
    from jupyter_client.manager import KernelManager

BUILD = paths.build_dir() / "notebooks"
LESSON = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update",
          "05_test", "06_connection_lab", "07_secret_rotation", "08_iam_auth", "99_cleanup"]


class NotebookFailed(RuntimeError):
    def __init__(self, notebook: str, cell: int | None, error: str):
        self.notebook, self.cell, self.error = notebook, cell, error
        where = f", cell {cell}" if cell is not None else ""
        super().__init__(f"{notebook}{where}: {error}")


def lesson(names: list[str] | None = None) -> list[Path]:
    """The lesson's notebooks (or those named), in order."""
    return [paths.notebooks_dir() / f"{name}.ipynb" for name in (names or LESSON)]


def sanitizers() -> list[tuple[re.Pattern[str], str]]:
    """notebooks/sanitize.cfg's rules (what legitimately differs between runs), as nbval applies them."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(paths.notebooks_dir() / "sanitize.cfg")
    return [(re.compile(cfg[section]["regex"]), cfg[section]["replace"]) for section in cfg.sections()]


def _sanitized(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for regex, replacement in rules:
        text = regex.sub(replacement, text)
    return text


def scrub(path: Path) -> None:
    """Make the committed reference outputs the same on every refresh, so a refresh diffs cleanly: drop what
    papermill adds (timings, ids), write what varies between runs as sanitize.cfg's placeholders (ports, API
    ids, times, ...), merge a cell's consecutive stream outputs, and keep no output of a cell whose output nbval
    ignores (the measurements and charts of 06: a learner sees them when running it)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    rules = sanitizers()
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            cell.outputs = []
            continue
        merged: list[Any] = []
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = _sanitized(output.text, rules)
                if merged and merged[-1].output_type == "stream" and merged[-1].name == output.name:
                    merged[-1].text += output.text
                    continue
            elif "data" in output:
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in output.data:
                        output.data[mime] = _sanitized(output.data[mime], rules)
            merged.append(output)
        cell.outputs = merged
    nbformat.write(nb, path)


def kernel_manager_class() -> type[KernelManager]:
    import uuid

    from jupyter_client.manager import KernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class LocalSocketKernelManager(KernelManager):
        """The kernel talks over local sockets: nothing on the network, no plain-TCP warning. Each kernel's
        sockets get a name of their own in the user's Jupyter runtime folder (jupyter_client's default,
        `kernel-ipc-<port>` in the working folder, mixes up the kernels of two runs from one checkout)."""

        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _ip_default(self) -> str:
            if self.transport != "ipc":
                return super()._ip_default()
            folder = Path(jupyter_runtime_dir())
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            return str(folder / f"lab-kernel-{uuid.uuid4().hex[:12]}-ipc")

    return LocalSocketKernelManager


class ProgressEcho:
    """A notebook kernel's stderr (the waits' progress lines, `waiting.Progress`) on the terminal as it comes,
    indented on lines of their own under '[n/8] name ...'."""

    def __init__(self, stream: TextIO):
        self.stream, self.started = stream, False

    def write(self, text: str) -> None:
        if not self.started:
            self.stream.write("\n")
            self.started = True
        self.stream.write("".join("    " + line for line in text.splitlines(keepends=True)))

    def flush(self) -> None:
        self.stream.flush()


def run_notebook(source: Path, output: Path, parameters: dict[str, Any] | None = None) -> float:
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
                                   stderr_file=ProgressEcho(sys.stderr), kernel_manager_class=kernel_manager_class())
    except PapermillExecutionError as e:
        raise NotebookFailed(source.name, e.exec_count, f"{e.ename}: {e.evalue}") from None
    return time.perf_counter() - started


def refresh_plan(names: list[str]) -> tuple[list[str], set[str]]:
    """`make notebooks NB=03_rds_proxy`: the lesson up to the last notebook named (each needs what the ones
    before it build, on a fresh cloud), and which of them get their reference outputs rewritten."""
    unknown = [name for name in names if name not in LESSON]
    if unknown:
        raise ValueError(f"not a notebook of the lesson: {', '.join(unknown)} (the lesson: {', '.join(LESSON)})")
    last = max(LESSON.index(name) for name in names)
    return LESSON[:last + 1], set(names)


def run(names: list[str] | None = None, out_dir: Path = BUILD, parameters: dict[str, Any] | None = None,
        refresh: bool = False, echo: Callable[..., None] = print,
        refresh_only: set[str] | None = None) -> list[tuple[str, float]]:
    """Execute the notebooks in order; return (notebook, seconds) for each. With `refresh`, the reference
    outputs in notebooks/ are rewritten (only those in `refresh_only` when given; the others go to `out_dir`)."""
    notebooks = lesson(names)
    times = []
    for n, source in enumerate(notebooks, 1):
        rewrite = refresh and (refresh_only is None or source.stem in refresh_only)
        output = source if rewrite else out_dir / source.name
        echo(f"[{n}/{len(notebooks)}] {source.stem} ...", end=" ", flush=True)
        try:
            seconds = run_notebook(source, output, parameters)
        except NotebookFailed:
            echo("FAILED")
            raise
        if rewrite:
            scrub(output)
        echo(f"ok ({seconds:.1f} s)")
        times.append((source.stem, seconds))
    return times


def parameter_value(text: str) -> bool | int | float | str | None:
    """A `-p NAME VALUE` value as papermill reads it: True/False/None, an int, a float, else the text."""
    special = {"True": True, "False": False, "None": None}
    if text in special:
        return special[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def preflight(target: str, region: str | None, learner: str | None, confirm_costs: bool,
              parameters: dict[str, Any] | None = None) -> str | None:
    """What stops the lab before any notebook runs (nothing created): a bad choice, the AWS costs not
    accepted (the cost table is printed here, in the terminal), no AWS credentials. None: go on."""
    from .. import costs
    from ..core import choices
    from ..core.config import Lab, NoCredentials

    try:
        chosen = choices.choose(target, region, learner, (parameters or {}).get("tags"),
                                (parameters or {}).get("permissions_boundary"))
    except choices.ChoiceError as e:
        return str(e)
    if chosen.target != "aws":
        return None
    if not confirm_costs:
        print(costs.describe(chosen.region))
        return ("AWS 에 유료 리소스를 만들기 전에 위 비용에 동의해야 합니다. 확인했다면 "
                "`make lab TARGET=aws CONFIRM_COSTS=1` 로 다시 실행하세요. 아무것도 만들지 않았습니다.")
    try:
        Lab.connect("aws", chosen.region, learner=chosen.learner)
    except NoCredentials as e:
        return f"{e} 아무것도 만들지 않았습니다."
    return None


def aws_leftovers() -> str:
    """After a failed run on AWS: what of the learner's lab (as 00 chose it) bills now, and how to remove it."""
    from .. import billing
    from ..core import choices
    from ..core.config import Lab

    chosen = choices.recall()
    if chosen is None or chosen.target != "aws":
        return "00_prerequisites 가 AWS 에 아무것도 만들기 전에 멈췄습니다: 과금되는 리소스가 없습니다."
    return billing.leftovers(Lab.connect("aws", chosen.region, **chosen.lab_settings()))


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.tools.run_lab`: `make lab` and `make notebooks`."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.run_lab", description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=["local", "aws"], default=os.environ.get("LAB_TARGET") or None,
                        help="default: local")
    parser.add_argument("--region", default=None, help="default: ap-northeast-2; on aws, your AWS configuration's")
    parser.add_argument("--learner", default=None, help="a short name that prefixes every resource name")
    parser.add_argument("--confirm-costs", action="store_true", help="accept the AWS costs (target aws)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="any other notebook parameter, as papermill's -p (e.g. -p level all)")
    parser.add_argument("--refresh", action="store_true", help="rewrite the reference outputs in notebooks/")
    parser.add_argument("--out", type=Path, default=BUILD)
    parser.add_argument("notebooks", nargs="*", help="names without .ipynb (default: the whole lesson)")
    args = parser.parse_args(argv)
    if args.refresh and (args.target not in (None, "local") or args.region or args.learner or args.parameter):
        parser.error("--refresh makes the reference outputs on the local target, with the default choices only")
    target = args.target or "local"
    names, only = args.notebooks or None, None
    unknown = [name for name in args.notebooks if name not in LESSON]
    if unknown:
        parser.error(f"not a notebook of the lesson: {', '.join(unknown)} (the lesson: {', '.join(LESSON)})")
    if args.refresh and args.notebooks:
        names, only = refresh_plan(args.notebooks)
    os.environ.setdefault(waiting.PROGRESS_ENV, "stderr")  # the kernels' waits say how they go, on the terminal
    # only what was given: the notebooks' own defaults otherwise (01 and later follow what 00 chose)
    parameters = {name: parameter_value(value) for name, value in args.parameter}
    stop = preflight(target, args.region, args.learner, args.confirm_costs, parameters)
    if stop:
        sys.stdout.flush()  # the cost table above it first, also when the output goes to a pipe
        print(f"error: {stop}", file=sys.stderr)
        return 2

    given = {"target": args.target, "region": args.region, "learner": args.learner,
             "confirm_costs": args.confirm_costs or None}
    parameters.update({name: value for name, value in given.items() if value is not None})

    with contextlib.ExitStack() as cloud:
        try:
            if args.refresh:  # reference outputs come from a fresh cloud of their own, whatever else is running
                info = cloud.enter_context(local.fresh("lab-refresh-", export=True))
            elif target == "local":
                if local.status().get("running") is not True:  # stop at the end what was started here
                    cloud.callback(local.down)
                info = local.up()
        except local.LocalCloudError as e:  # MariaDB missing, a port in use, ...: said, no traceback
            print(f"error: {e}", file=sys.stderr)
            return 2
        if args.refresh or target == "local":
            print(f"local cloud at {info['endpoint']}")
        started = time.perf_counter()
        try:
            times = run(names, args.out, parameters or None, args.refresh, refresh_only=only)
        except NotebookFailed as e:
            print(f"error: notebook {e.notebook} failed at cell {e.cell}: {e.error}", file=sys.stderr)
            if target == "aws":  # never a silent bill: what now bills, and the one command that removes it
                print(aws_leftovers(), file=sys.stderr)
            return 1
    where = "notebooks/ (reference outputs)" if args.refresh else paths.shown(args.out)
    print(f"all {len(times)} notebooks ran in {time.perf_counter() - started:.1f} s; executed copies in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
