"""`make example-charts`: notebook 06's charts from a reference run, committed as example images.

    python -m lab_helpers.tools.example_charts     # the lesson up to 06 on a fresh local cloud, then its charts
    python -m lab_helpers.tools.example_charts --from build/notebooks/06_connection_lab.ipynb  # an executed 06

06's measurement cells keep no output in the committed notebook (they differ on every run), so a reader who has not
run it sees no chart. This writes each chart the run drew (the cell `<name>_chart = measure.chart_<name>(...)`) to
notebooks/images/06-chart-<name>.png, with a banner that says, in Korean, that it is an example from a reference
run; 06's markdown shows them, folded, by their relative path. The learner's own run draws its own.
"""
from __future__ import annotations

import argparse
import base64
import io
import re
import sys
import tempfile
from pathlib import Path

import nbformat

from ..core import paths

NOTEBOOK = "06_connection_lab"
CHART_CELL = re.compile(r"^\s*\w+_chart = measure\.chart_(\w+)\(", re.MULTILINE)
BANNER = "예시: 참고 실행의 그림 (여러분이 실행하면 셀이 새로 그립니다)"
BANNER_HEIGHT = 30  # px, above the chart
FONT_MISSING = ("06's example charts need a font with Hangul (Debian's fonts-noto-cjk): run "
                "'sudo apt-get install -y mariadb-server fonts-noto-cjk' (the list of apt.txt), then try again.")


def images_dir() -> Path:
    return paths.notebooks_dir() / "images"


def image_name(chart: str) -> str:
    """The file of one chart's example image, as 06's markdown names it (relative to notebooks/)."""
    return f"images/06-chart-{chart}.png"


def chart_cells(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, chart name) of each cell of 06 that draws a chart, in order."""
    return [(i, found[0]) for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and (found := CHART_CELL.findall(cell.source))]


def korean_font() -> str:
    """The file of the font the charts draw Hangul with (Noto Sans CJK); a clear error when it is not installed."""
    from matplotlib import font_manager

    from ..measure import charts

    family = charts.font_families()[0]
    if not family.startswith("Noto Sans CJK"):
        raise RuntimeError(FONT_MISSING)
    return font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)


def stamp(png: bytes, font_file: str) -> bytes:
    """The chart with the Korean "example" banner above it, as PNG."""
    from PIL import Image, ImageDraw, ImageFont

    chart = Image.open(io.BytesIO(png)).convert("RGBA")
    out = Image.new("RGBA", (chart.width, chart.height + BANNER_HEIGHT), "white")
    out.paste(chart, (0, BANNER_HEIGHT), chart)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, chart.width - 1, BANNER_HEIGHT - 4), fill="#fff3cd", outline="#e0a800")
    font = ImageFont.truetype(font_file, 13)
    draw.text((8, (BANNER_HEIGHT - 4) // 2), BANNER, fill="#5c4400", font=font, anchor="lm")
    buffer = io.BytesIO()
    out.convert("RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_examples(executed: Path, out_dir: Path | None = None) -> list[Path]:
    """Each chart of an executed 06, stamped as an example, into `out_dir` (notebooks/images/); the files written."""
    font_file = korean_font()
    notebook = nbformat.read(executed, as_version=4)
    cells = chart_cells(notebook)
    if not cells:
        raise ValueError(f"{executed} draws no chart (no cell `<name>_chart = measure.chart_<name>(...)`)")
    out_dir = out_dir or images_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, chart in cells:
        outputs = notebook.cells[index].get("outputs", [])
        pngs = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
        if len(pngs) != 1:
            raise ValueError(f"{executed}: cell {index} ({chart}) shows {len(pngs)} images, not one: "
                             f"was it run on the local cloud, to the end?")
        path = out_dir / Path(image_name(chart)).name
        path.write_bytes(stamp(base64.b64decode(pngs[0]), font_file))
        written.append(path)
    return written


def reference_run(out_dir: Path) -> Path:
    """The lesson up to 06, headless on a fresh local cloud of its own (as `make notebooks` runs it); 06's copy."""
    from .. import local
    from . import run_lab

    names = run_lab.LESSON[:run_lab.LESSON.index(NOTEBOOK) + 1]
    with local.fresh("lab-charts-", export=True):
        run_lab.run(names, out_dir)
    return out_dir / f"{NOTEBOOK}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.example_charts",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="executed", type=Path, default=None,
                        help=f"an executed {NOTEBOOK}.ipynb (default: run the lesson up to it on a fresh local cloud)")
    args = parser.parse_args(argv)
    try:
        korean_font()  # before a run of a minute that could not be used
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lab-charts-run-") as tmp:
        executed = args.executed or reference_run(Path(tmp))
        try:
            written = write_examples(executed)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    for path in written:
        print(f"wrote {paths.shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
