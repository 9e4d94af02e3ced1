"""The lesson as a learner takes it: JupyterLab started as `make jupyter` starts it, in headless Chromium.

On a local cloud of its own, JupyterLab (this virtualenv's `jupyter lab`, the project's `python3` kernel)
serves a copy of notebooks/ (and its images), so that the committed notebooks are never touched. For 00 to 07,
in order, the page opens the notebook by its URL, clears the reference outputs (Edit menu), runs all cells (Run
menu) and waits until every cell has run; then it checks what the learner sees: every cell ran once,
the closing check shows ✅, no cell shows an error or stderr (a missing glyph's warning would be one), and each
```mermaid block is drawn as an SVG image. The end of each notebook is saved to build/screenshots/<name>.png.

In 06 it also checks the charts: each measurement's chart is drawn on the page (saved to
build/screenshots/06_connection_lab-chart.png), its folded example image (notebooks/images/) opens, and in the
kernel that drew them, every character of every chart has a glyph in the font matplotlib resolves for it, the
Hangul in Noto Sans CJK (`charts.glyph_report`): without fonts-noto-cjk the charts fall back to DejaVu Sans, whose
missing Hangul would be drawn as boxes, and the test fails.

A second test starts JupyterLab with no local cloud running, as JupyterHub or Binder starts it, and runs 00
there: 00 starts the learner's cloud itself (the cloud is stopped by its PID afterwards).

Chromium is Debian's (`make test` installs `chromium` and `fonts-noto-cjk` as root), driven by
Playwright, which never downloads a browser of its own here.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from lab_helpers.core import paths
from lab_helpers.local import lifecycle, processes, state
from lab_helpers.local.ports import HOST, free_port
from tests.polling import wait_until

pytestmark = pytest.mark.integration

LESSON = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update", "05_test",
          "06_connection_lab", "07_secret_rotation"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [  # headless, as root, without a GPU, and with nothing to fetch: the network is the loopback
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
    "--disable-default-apps", "--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
    "--password-store=basic",
]
SCREENSHOTS = paths.build_dir() / "screenshots"
START_TIMEOUT = 90  # s: JupyterLab's server answering; a page loaded with its notebook's kernel idle
RUN_TIMEOUT = 300  # s: one notebook's cells (headless, each of 00-05 takes seconds, 06 and 07 under a minute)

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the front tab
# What a cell writes to stderr and what fails in it: JupyterLab shows both, tracebacks included, as this
# MIME type. None is harmless here: under papermill, 00-05 write nothing to stderr.
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

# JupyterLab's settings as a learner who answered "no" to its news prompt has them: no toast over the
# notebook, no request to the internet.
SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False}}

# True once the front notebook shows its `cells` code cells.
SHOWN = """([notebook, cells]) =>
  document.querySelectorAll(notebook + ' .jp-CodeCell .jp-InputArea-prompt').length === cells"""

# True once the front notebook shows its `cells` code cells with no output and no execution count ([ ]):
# nothing of the reference outputs is left to be mistaken for this run's.
CLEARED = """([notebook, cells]) => {
  const panel = document.querySelector(notebook);
  const prompts = panel ? [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')] : [];
  return prompts.length === cells && prompts.every(p => p.textContent.trim() === '[ ]:')
    && !panel.querySelector('.jp-CodeCell .jp-OutputArea-output');
}"""

# True once Run All has started: a code cell is queued or running ([*]) or has run ([1]).
STARTED = """(notebook) => [...document.querySelectorAll(notebook + ' .jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""

# True once every code cell of the front notebook has run: none queued or running ([*]), the kernel idle,
# and each cell numbered, unless a cell failed (Run All stops there and leaves the rest unnumbered).
FINISHED = """([notebook, stderr]) => {
  const panel = document.querySelector(notebook);
  if (!panel) return false;
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status');
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
  if (status !== 'idle' || prompts.length === 0 || prompts.some(p => p.includes('*'))) return false;
  return prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || panel.querySelector(stderr) !== null;
}"""

# JupyterLab draws a ```mermaid block as <div class="jp-RenderedMermaid"><figure><img src="data:image/svg+xml,
# <svg ...>">; a block that fails to parse shows its error (jp-mod-warning) instead. Once the image is loaded:
# its kind, its SVG source and its size on the page.
MERMAID = """(diagram) => {
  const svg = diagram.querySelector('svg');
  if (svg) return {kind: 'svg', svg: svg.outerHTML, width: svg.getBoundingClientRect().width};
  const img = diagram.querySelector('img');
  if (!img || !img.complete || img.naturalWidth === 0) return null;
  const comma = img.src.indexOf(',');
  return {kind: img.src.slice(0, comma), svg: decodeURIComponent(img.src.slice(comma + 1)),
          width: img.getBoundingClientRect().width};
}"""


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    packages = " ".join(line.split("#", 1)[0].strip() for line in (paths.CHECKOUT / "apt-test.txt").read_text()
                        .splitlines() if line.split("#", 1)[0].strip())  # `make chromium`'s list
    if os.geteuid() != 0:
        pytest.skip(f"Chromium is not installed: run 'sudo apt-get install -y {packages}' "
                    "(`make test` installs it when run as root)")
    pytest.fail(f"Chromium is not installed (/usr/bin/chromium): `make test` installs it as root "
                f"(apt-get install -y {packages})")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """JupyterLab by its PID: SIGTERM (it shuts its kernels down), then SIGKILL to what is left of its session."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session it leads (start_new_session): a kernel left behind
    except ProcessLookupError:
        pass
    proc.wait(10)


@contextmanager
def _serve(tmp: Path, env: dict[str, str]) -> Iterator[dict]:
    """`jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 [--allow-root]` (as `make jupyter` runs it) on a copy of
    the notebooks in `tmp`, on a free port with a token, its settings, workspaces and runtime files in `tmp`,
    with `env` for its kernels; stopped by its PID at the end."""
    notebooks = tmp / "notebooks"
    notebooks.mkdir()
    for notebook in paths.notebooks_dir().glob("*.ipynb"):  # the lesson only (a run may leave sockets there)
        shutil.copyfile(notebook, notebooks / notebook.name)
    shutil.copytree(paths.notebooks_dir() / "images", notebooks / "images")  # what the markdown shows
    for name, values in SETTINGS.items():
        (tmp / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "settings" / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    args = [str(Path(sys.executable).parent / "jupyter"), "lab", f"--notebook-dir={notebooks}", f"--ip={HOST}",
            f"--port={port}", "--ServerApp.port_retries=0", "--no-browser", f"--IdentityProvider.token={token}",
            f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    env = {**env, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp / "config")}
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:  # the kernels find the cloud through LAB_STATE_DIR and LAB_LOCAL_PORT in env
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=notebooks, start_new_session=True)
    base = f"http://{HOST}:{port}"
    try:
        def tail() -> str:
            return log.read_text(errors="replace")[-3000:]

        wait_until(lambda: proc.poll() is not None or _answers(f"{base}/api/status?token={token}"), START_TIMEOUT,
                   interval=0.2, explain=lambda: f"JupyterLab did not answer:\n{tail()}")
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited at start-up:\n{tail()}")
        yield {"base": base, "token": token, "notebooks": notebooks, "log": log, "runtime": tmp / "runtime"}
    finally:
        _stop(proc)


@contextmanager
def _browser(jupyterlab: dict):
    """Headless Chromium logged in to `jupyterlab` (a cookie from the token URL), with JupyterLab's main area shown."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="ko-KR",
                                          timezone_id="Asia/Seoul")
            context.set_default_timeout(START_TIMEOUT * 1000)
            page = context.new_page()
            page.goto(f"{jupyterlab['base']}/lab?token={jupyterlab['token']}")  # logs in: a cookie from here on
            page.wait_for_selector("#jp-main-dock-panel")
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def jupyterlab() -> Iterator[dict]:
    """JupyterLab as `make jupyter` starts it: the local cloud (one of its own here), then JupyterLab."""
    _chromium_or_skip()
    with lifecycle.fresh("lab-browser-", export=True) as cloud, \
            tempfile.TemporaryDirectory(prefix="lab-browser-jupyter-") as tmp, \
            _serve(Path(tmp), dict(os.environ)) as lab:
        yield {**lab, "cloud": cloud}


@pytest.fixture(scope="module")
def page(jupyterlab):
    with _browser(jupyterlab) as page:
        yield page


def _menu(page, menu: str, item: str) -> None:
    """A command from the menu bar, clicked as a learner clicks it (once the item is enabled)."""
    page.locator(f".lm-MenuBar-item:has(.lm-MenuBar-itemLabel:text-is('{menu}'))").click()
    page.locator(f".lm-Menu-item:not(.lm-mod-disabled):visible:has(.lm-Menu-itemLabel:text-is('{item}'))").click()
    page.locator(".lm-Menu:visible").first.wait_for(state="hidden", timeout=10_000)


def _texts(page, selector: str) -> list[str]:
    """The text of what `selector` finds in the front notebook (off-screen cells included)."""
    return page.locator(f"{NOTEBOOK} {selector}").all_text_contents()


def _what_it_shows(page) -> str:
    errors = _texts(page, STDERR)
    if errors:
        return "error outputs:\n" + "\n---\n".join(e[-1500:] for e in errors)
    return "last outputs:\n" + "\n---\n".join(o[-500:] for o in _texts(page, ".jp-CodeCell .jp-OutputArea-output")[-3:])


def _open(page, base: str, name: str) -> None:
    """The notebook by its URL, alone in a fresh workspace (`?reset`: the notebooks before it are not opened
    again); ready once it is the front tab and its kernel is idle."""
    page.goto(f"{base}/lab/tree/{name}.ipynb?reset")
    tab = f"#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current:has(.lm-TabBar-tabLabel:text-is('{name}.ipynb'))"
    page.wait_for_selector(tab)
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']")
    tabs = page.locator("#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel").all_text_contents()
    assert tabs == [f"{name}.ipynb"], f"{name}: the open tabs are {tabs}"


def _command(page, name: str, menu: str, item: str, done: str, arg) -> None:
    """A menu command, then `done` (a function of the page) true within 15 s; clicked once more if JupyterLab did
    not act on the first click (a notebook that has just opened may not be the current one for its menus yet)."""
    for attempt in range(2):
        _menu(page, menu, item)
        try:
            page.wait_for_function(done, arg=arg, timeout=15_000, polling=100)
            return
        except PlaywrightTimeout:
            if attempt:
                raise AssertionError(f"{name}: {menu} > {item} did nothing ({_screenshot(page, name)})") from None
            print(f"{name}: {menu} > {item} did nothing; clicked again")


def _run_all(page, name: str, cells: int) -> float:
    """Edit > Clear Outputs of All Cells, then Run > Run All Cells; the seconds until every cell has run."""
    page.wait_for_function(SHOWN, arg=[NOTEBOOK, cells])
    _command(page, name, "Edit", "Clear Outputs of All Cells", CLEARED, [NOTEBOOK, cells])
    started = time.monotonic()
    _command(page, name, "Run", "Run All Cells", STARTED, NOTEBOOK)
    try:
        page.wait_for_function(FINISHED, arg=[NOTEBOOK, STDERR], timeout=RUN_TIMEOUT * 1000, polling=250)
    except PlaywrightTimeout:
        shot = _screenshot(page, name)
        raise AssertionError(f"{name}: the cells did not finish in {RUN_TIMEOUT} s ({shot}); {_what_it_shows(page)}") \
            from None
    return time.monotonic() - started


def _screenshot(page, name: str) -> Path:
    """The end of the notebook, as the learner sees it after scrolling down: build/screenshots/<name>.png."""
    page.locator(f"{NOTEBOOK} .jp-Cell").last.evaluate("cell => cell.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(500)  # the scroll, and the paint of the cells it brings into view
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def _mermaid_blocks(notebook: Path) -> int:
    return sum("".join(c["source"]).count("```mermaid") for c in _cells(notebook) if c["cell_type"] == "markdown")


def _assert_mermaid_drawn(page, name: str, expected: int) -> None:
    diagrams = page.locator(f"{NOTEBOOK} .jp-MarkdownCell .jp-RenderedMarkdown .jp-RenderedMermaid")
    for i in range(expected):
        diagram = diagrams.nth(i)
        diagram.scroll_into_view_if_needed(timeout=30_000)  # where the learner reads it
        failed = diagram.locator(".jp-mod-warning").count() or "jp-mod-warning" in (diagram.get_attribute("class"))
        assert not failed, f"{name}: Mermaid diagram {i + 1} was not drawn: {diagram.text_content()}"
        drawn = page.wait_for_function(MERMAID, arg=diagram.element_handle(), timeout=30_000).json_value()
        assert drawn["kind"] in ("svg", "data:image/svg+xml"), f"{name}: Mermaid diagram {i + 1} is {drawn['kind']}"
        assert "<svg" in drawn["svg"] and "</svg>" in drawn["svg"], f"{name}: Mermaid diagram {i + 1} is no SVG"
        assert drawn["width"] > 200, f"{name}: Mermaid diagram {i + 1} is {drawn['width']} px wide"
    assert diagrams.count() == expected, f"{name}: {diagrams.count()} Mermaid diagrams drawn, {expected} written"


def _run_in_browser(page, jupyterlab: dict, name: str) -> tuple[float, Path]:
    """Open `name`, clear its outputs and run all its cells; then what every notebook must show: no error, every cell
    run once, the closing check's ✅. The seconds it ran and its screenshot."""
    _open(page, jupyterlab["base"], name)
    code_cells = sum(c["cell_type"] == "code" for c in _cells(jupyterlab["notebooks"] / f"{name}.ipynb"))
    seconds = _run_all(page, name, code_cells)
    shot = _screenshot(page, name)

    errors = _texts(page, STDERR)
    assert not errors, f"{name}: a cell shows an error ({shot}):\n" + "\n---\n".join(e[-1500:] for e in errors)
    prompts = _texts(page, ".jp-CodeCell .jp-InputArea-prompt")
    assert prompts == [f"[{i}]:" for i in range(1, code_cells + 1)], f"{name}: not every cell ran once: {prompts}"
    closing = page.locator(f"{NOTEBOOK} .jp-CodeCell").last.locator(".jp-OutputArea-output").all_text_contents()
    assert closing and closing[-1].startswith("✅"), f"{name}: the closing check shows no ✅ ({shot}): {closing}"
    assert "❌" not in "\n".join(_texts(page, ".jp-OutputArea-output")), f"{name}: {_what_it_shows(page)}"
    return seconds, shot


# An <img> once it has loaded: its size on the page and its natural size.
IMAGE = """(img) => img.complete && img.naturalWidth > 0
  ? {width: img.getBoundingClientRect().width, natural: img.naturalWidth,
     src: img.src.startsWith('data:') ? img.src.slice(0, 40) : img.src} : null"""
CHARTS = ("durations_chart", "storm_chart", "pinning_chart", "failover_chart")  # 06's charts, as its cells name them


def _image_loaded(page, image, what: str) -> dict:
    image.scroll_into_view_if_needed(timeout=30_000)
    try:
        return page.wait_for_function(IMAGE, arg=image.element_handle(), timeout=30_000).json_value()
    except PlaywrightTimeout:
        raise AssertionError(f"{what} did not load ({_screenshot(page, 'failed-image')})") from None


def _in_kernel(jupyterlab: dict, name: str, code: str) -> str:
    """Run `code` in the kernel of the open notebook `name` (JupyterLab's own, found by its session) through its
    connection file, without a history entry; what it prints."""
    from jupyter_client import BlockingKernelClient

    with urllib.request.urlopen(f"{jupyterlab['base']}/api/sessions?token={jupyterlab['token']}", timeout=10) as r:
        sessions = json.load(r)
    kernel = next(s["kernel"]["id"] for s in sessions if s["path"].endswith(f"{name}.ipynb"))
    client = BlockingKernelClient(connection_file=str(jupyterlab["runtime"] / f"kernel-{kernel}.json"))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []

    def output(msg) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    try:
        reply = client.execute_interactive(code, store_history=False, timeout=120, output_hook=output)
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", f"{name}: {reply['content']}"
    return "".join(printed)


def _assert_charts_drawn_in_korean(page, jupyterlab: dict) -> Path:
    """06's charts on the page, its example images, and each chart's text in fonts that have its glyphs."""
    name = "06_connection_lab"
    charts = page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-OutputArea-output[data-mime-type='image/png'] img")
    assert charts.count() == len(CHARTS), f"{name}: {charts.count()} charts drawn, {len(CHARTS)} measured"
    for i in range(len(CHARTS)):
        drawn = _image_loaded(page, charts.nth(i), f"{name}: chart {i + 1}")
        assert drawn["src"].startswith("data:image/png") and drawn["natural"] > 400, f"{name}: chart {i + 1}: {drawn}"
    charts.first.scroll_into_view_if_needed()
    shot = SCREENSHOTS / f"{name}-chart.png"
    charts.first.screenshot(path=str(shot))

    examples = page.locator(f"{NOTEBOOK} .jp-MarkdownCell .jp-RenderedMarkdown details")
    assert examples.count() == len(CHARTS), f"{name}: {examples.count()} example images, {len(CHARTS)} charts"
    for i in range(len(CHARTS)):
        example = examples.nth(i)
        assert "예시" in example.locator("summary").text_content()
        example.locator("summary").click()
        image = _image_loaded(page, example.locator("img"), f"{name}: example image {i + 1}")
        assert "/files/images/06-chart-" in image["src"], f"{name}: example image {i + 1}: {image}"  # notebooks/images
        assert image["natural"] > 400 and image["width"] > 200, f"{name}: example image {i + 1}: {image}"

    report = json.loads(_in_kernel(jupyterlab, name, (
        "import json as _json\nfrom lab_helpers.measure import charts as _charts\n"
        f"print(_json.dumps({{_name: _charts.glyph_report(globals()[_name]) for _name in {CHARTS!r}}}))")))
    for chart, glyphs in report.items():
        assert glyphs["missing"] == [] and glyphs["warnings"] == [], f"{name}: {chart} has no glyph for {glyphs}"
        assert glyphs["hangul_fonts"] and all(f.startswith("NotoSansCJK") for f in glyphs["hangul_fonts"]), \
            f"{name}: {chart}'s Hangul is drawn with {glyphs['hangul_fonts']}"
    return shot


def test_00_starts_the_local_cloud_in_a_jupyterlab_that_a_hub_spawned():
    """JupyterLab started with no local cloud running, as JupyterHub or Binder starts it (no terminal, no `make
    jupyter`): notebook 00, run in the browser, starts the learner's cloud itself and says so."""
    _chromium_or_skip()
    with tempfile.TemporaryDirectory(prefix="lab-browser-hub-") as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o755)  # as a learner's home: the database engine's own account can reach the state folder
        root = tmp / "state"  # the learner's state folder, with no cloud in it yet
        port = free_port()
        env = {**os.environ, "LAB_STATE_DIR": str(root), "LAB_LOCAL_PORT": str(port)}
        assert lifecycle.status(root)["running"] is False
        try:
            with _serve(tmp, env) as jupyterlab, _browser(jupyterlab) as page:
                seconds, shot = _run_in_browser(page, jupyterlab, "00_prerequisites")
                said = "\n".join(_texts(page, ".jp-OutputArea-output"))
                assert f"로컬 클라우드를 시작했습니다: http://127.0.0.1:{port}" in said, f"({shot}) {said[-1500:]}"
                record = state.read(root)  # the cloud 00 started, running on after the cell, found by its record
                assert record and processes.is_same_process(record["pid"], record["identity"])
                assert state.health(record["endpoint"]) is not None
                print(f"00_prerequisites with no cloud running: ran in {seconds:.1f} s; {paths.shown(shot)}")
        finally:
            stopped = lifecycle.down(root)  # by the PID in its record, and what it started
        assert stopped["stopped"] and lifecycle.status(root)["running"] is False


def test_the_lesson_in_jupyterlab_in_a_browser(jupyterlab, page):
    assert _mermaid_blocks(jupyterlab["notebooks"] / "00_prerequisites.ipynb"), "00 has its architecture diagram"
    for name in LESSON:
        seconds, shot = _run_in_browser(page, jupyterlab, name)
        if blocks := _mermaid_blocks(jupyterlab["notebooks"] / f"{name}.ipynb"):
            _assert_mermaid_drawn(page, name, blocks)
        if name == "06_connection_lab":
            print(f"{name}: charts in Korean; {paths.shown(_assert_charts_drawn_in_korean(page, jupyterlab))}")
        print(f"{name}: ran in {seconds:.1f} s; {paths.shown(shot)}")
