"""06's charts: titles, axes, legends and tick labels in Korean, drawn with a font that has Hangul (no tofu boxes),
without touching the learner's matplotlib settings."""
from __future__ import annotations

import re
import warnings

import matplotlib
import pytest
from matplotlib import font_manager
from matplotlib.text import Text

from lab_helpers.measure import charts

matplotlib.use("Agg")  # before the charts import pyplot

HANGUL = re.compile(r"[\uac00-\ud7a3]")

DURATIONS = [{"variant": "module2", "median_ms": 21.0, "p95_ms": 25.0, "x_faster_than_slowest": 1.4},
             {"variant": "module3_printed", "median_ms": 30.0, "p95_ms": 33.0, "x_faster_than_slowest": 1},
             {"variant": "module3", "median_ms": 2.0, "p95_ms": 2.5, "x_faster_than_slowest": 15.0}]
STORM = {"concurrency": 20, "max_connections": 10, "pool_size": 5,
         "runs": {"direct": {"threads": [(0.0, 1), (0.2, 11)], "peak_db_threads": 11, "successes": 10, "errors": 10},
                  "proxy": {"threads": [(0.0, 1), (0.2, 6)], "peak_db_threads": 6, "successes": 20, "errors": 0}}}
PINNING = {"concurrency": 7, "pool_size": 5, "borrow_timeout_s": 1,
           "runs": {"no_commit": {"bystander": {"ok": False, "error_code": 9501}, "handler_fix": "none",
                                  "successes": 5, "errors": 2},
                    "fixed": {"bystander": {"ok": True, "error_code": None}, "handler_fix": "commit",
                              "successes": 7, "errors": 0}}}
FAILOVER = {"reboot_start_s": 1.0, "reboot_end_s": 1.5,
            "clients": {"direct": {"timeline": [{"start_s": 0.0, "end_s": 0.9, "ok": True},
                                                {"start_s": 1.0, "end_s": 1.2, "ok": False}], "outage_s": 0.2},
                        "proxy": {"timeline": [{"start_s": 0.0, "end_s": 2.0, "ok": True}], "outage_s": None}}}


@pytest.fixture(params=["durations", "storm", "pinning", "failover"])
def figure(request):
    draw = {"durations": lambda: charts.chart_durations(DURATIONS), "storm": lambda: charts.chart_storm(STORM),
            "pinning": lambda: charts.chart_pinning(PINNING), "failover": lambda: charts.chart_failover(FAILOVER)}
    before = dict(matplotlib.rcParams)
    fig = draw[request.param]()
    assert dict(matplotlib.rcParams) == before  # the learner's settings untouched
    yield fig
    import matplotlib.pyplot as plt

    plt.close(fig)


def texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text().strip()]


def test_the_chart_is_titled_and_labelled_in_korean(figure):
    figure.canvas.draw()
    for ax in figure.axes:
        assert HANGUL.search(ax.get_title()), ax.get_title()
        labels = ax.get_xlabel() + ax.get_ylabel() + "".join(t.get_text() for t in ax.get_yticklabels())
        assert HANGUL.search(labels), labels
    english = [t.get_text() for t in texts(figure)
               if re.search(r"\b(succeeded|failed|seconds|invocations|outcome|peak|slowest|faster|pool size)\b",
                            t.get_text())]
    assert english == []


def test_hangul_is_drawn_with_a_cjk_font_and_no_glyph_is_missing(figure):
    assert charts.font_families()[0].startswith("Noto Sans CJK"), "fonts-noto-cjk is not installed"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.canvas.draw()
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    hangul = [t for t in texts(figure) if HANGUL.search(t.get_text())]
    assert hangul
    for text in hangul:
        path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        assert "NotoSansCJK" in path, (text.get_text(), path)


def test_the_glyph_report_finds_every_hangul_character_in_noto_sans_cjk(figure):
    report = charts.glyph_report(figure)
    assert report["missing"] == [] and report["warnings"] == []
    assert report["hangul_fonts"] and all(name.startswith("NotoSansCJK") for name in report["hangul_fonts"])


def test_the_glyph_report_sees_tofu_when_no_font_has_hangul(monkeypatch):
    """As on a machine without fonts-noto-cjk: the charts fall back to DejaVu Sans, which has no Hangul."""
    monkeypatch.setattr(charts, "font_families", lambda: ["DejaVu Sans"])
    fig = charts.chart_pinning(PINNING)
    report = charts.glyph_report(fig)
    assert report["hangul_fonts"] == []
    assert any(entry.startswith("'동시 실행 7개") for entry in report["missing"]), report["missing"][:3]
    assert report["warnings"] and "DejaVu Sans" in report["warnings"][0]
