"""06's example charts (`make example-charts`): each chart a reference run drew, stamped as an example in Korean, is
committed where 06's markdown shows it by a relative path."""
from __future__ import annotations

import base64
import io
import re

import matplotlib
import nbformat
import pytest
from PIL import Image

from lab_helpers.core import paths
from lab_helpers.measure import charts
from lab_helpers.tools import example_charts

matplotlib.use("Agg")

IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def png(color: str, size=(300, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def executed_06(tmp_path, images: dict[str, list[bytes]]):
    cells = [nbformat.v4.new_markdown_cell("## 1. Duration")]
    for chart, pngs in images.items():
        cells.append(nbformat.v4.new_code_cell(
            f"if local:\n    {chart}_chart = measure.chart_{chart}(result)",
            outputs=[nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(p).decode(),
                                                                   "text/plain": "<Figure>"}) for p in pngs]))
    path = tmp_path / "06_connection_lab.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_each_chart_is_written_under_a_korean_example_banner(tmp_path):
    written = example_charts.write_examples(executed_06(tmp_path, {"durations": [png("#1f77b4")],
                                                                   "storm": [png("#2ca02c", (500, 200))]}), tmp_path)
    assert [p.name for p in written] == ["06-chart-durations.png", "06-chart-storm.png"]
    storm = Image.open(written[1]).convert("RGB")
    assert storm.size == (500, 200 + example_charts.BANNER_HEIGHT)
    assert storm.getpixel((250, example_charts.BANNER_HEIGHT + 100)) == (0x2c, 0xa0, 0x2c)  # the chart, under it
    banner = storm.crop((0, 0, 500, example_charts.BANNER_HEIGHT - 4))
    assert banner.getpixel((400, 3)) == (0xff, 0xf3, 0xcd)
    assert len(banner.getcolors(maxcolors=100_000)) > 10, "no text drawn in the banner"
    assert example_charts.BANNER.startswith("예시: 참고 실행")


def test_a_chart_cell_without_its_image_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"cell 2 \(storm\) shows 0 images"):
        example_charts.write_examples(executed_06(tmp_path, {"durations": [png("white")], "storm": []}), tmp_path)


def test_without_a_font_with_hangul_it_says_what_to_install(monkeypatch):
    monkeypatch.setattr(charts, "font_families", lambda: ["DejaVu Sans"])
    with pytest.raises(RuntimeError, match="sudo apt-get install -y mariadb-server fonts-noto-cjk"):
        example_charts.korean_font()
    assert example_charts.main([]) == 2  # before any run


def test_06_shows_each_of_its_charts_committed_image_folded_and_marked_as_an_example():
    notebook = nbformat.read(paths.notebooks_dir() / "06_connection_lab.ipynb", as_version=4)
    drawn = [chart for _, chart in example_charts.chart_cells(notebook)]
    assert drawn == ["durations", "storm", "pinning", "failover"]
    shown = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.findall(r"<details><summary>(.*?)</summary>(.*?)</details>", cell.source, re.DOTALL):
            summary, body = block
            assert "예시" in summary and "참고 실행" in summary and "새로 그립니다" in summary
            for alt, src in IMAGE.findall(body):
                assert alt.startswith("예시") and "참고 실행" in alt
                shown.append(src)
        outside = re.sub(r"<details>.*?</details>", "", cell.source, flags=re.DOTALL)
        assert not IMAGE.findall(outside), "an example image outside its folded, marked block"
    assert shown == [example_charts.image_name(chart) for chart in drawn]  # relative to notebooks/, in order
    for src in shown:
        image = Image.open(paths.notebooks_dir() / src)
        assert image.format == "PNG" and image.width > 400 and image.height > 200
