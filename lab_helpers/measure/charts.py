"""The results drawn for the notebook and `make bench`: an HTML table of measured values, and one
matplotlib chart per measurement (each `chart_*` returns its Figure), titled and labelled in Korean.

The charts set their own font (Noto Sans CJK, Debian's `fonts-noto-cjk`) on every text they draw, so
Hangul renders without changing the learner's matplotlib configuration."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import korean
from .connection_storm import TOO_MANY_CONNECTIONS
from .pinning_pitfall import BORROW_TIMEOUT

if TYPE_CHECKING:  # imported where drawn: matplotlib and IPython load slowly
    from IPython.display import HTML
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

# ---------------------------------------------------------------- tables for the notebook

def html_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> HTML:
    """An HTML table of measured values for a notebook: `columns` are (key, header).

    Measured numbers differ on every run; as HTML their plain-text form is a fixed placeholder, so the
    notebook's text outputs stay the same from run to run.
    """
    from html import escape

    from IPython.display import HTML

    def cell(value: Any) -> str:
        if isinstance(value, float):
            value = f"{value:,.2f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        elif isinstance(value, bool):
            value = korean.value(value)
        return escape("-" if value is None else str(value))

    head = "".join(f"<th>{escape(header)}</th>" for _, header in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(row.get(key))}</td>" for key, _ in columns) + "</tr>" for row in rows)
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# ---------------------------------------------------------------- charts (matplotlib; each returns its Figure)

VARIANT_LABELS = {"module2": "Module 2\n(핸들러 안에서 연결)",
                  "module3_printed": "Module 3 원문 코드\n(핸들러 안에서 보안 암호 + 연결)",
                  "module3": "이 실습의 Module 3\n(모듈 범위)"}
MODE_LABELS = {"direct": "DB 에 직접", "proxy": "RDS Proxy 로"}
COLORS = {"direct": "#d62728", "proxy": "#1f77b4", "ok": "#2ca02c", "error": "#d62728"}
# Hangul first (Noto Sans CJK KR, else another face of the same collection), then matplotlib's own for the rest
KOREAN_FONTS = ("Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC")


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, Any]:  # (figure, its axes)
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height), constrained_layout=True)


def font_families() -> list[str]:
    """The installed families the charts draw with: a Noto Sans CJK face for Hangul, DejaVu Sans for the rest."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [family for family in KOREAN_FONTS if family in installed][:1] + ["DejaVu Sans"]


def _korean(fig: Figure) -> Figure:
    """Every text of `fig` (titles, labels, legends, tick labels) in a font with Hangul; returns `fig`."""
    from matplotlib.text import Text

    families = font_families()
    for ax in fig.axes:
        ax.tick_params(labelfontfamily=families)
    for text in fig.findobj(Text):
        text.set_fontfamily(families)
    return fig


def chart_durations(rows: list[dict[str, Any]]) -> Figure:
    """Median warm Duration per variant (bars) with its p95 (whisker), each labelled with the ratio to the slowest."""
    fig, ax = _figure(8, 3.2)
    labels = [VARIANT_LABELS.get(r["variant"], r["variant"]) for r in rows]
    medians = [r["median_ms"] for r in rows]
    errors = [[0] * len(rows), [max(0.0, r["p95_ms"] - r["median_ms"]) for r in rows]]
    bars = ax.barh(labels, medians, xerr=errors, color=["#ff7f0e", "#d62728", "#2ca02c"][:len(rows)], capsize=4)
    for bar, row in zip(bars, rows, strict=True):
        ratio = row["x_faster_than_slowest"]
        ax.text(max(row["median_ms"], row["p95_ms"]), bar.get_y() + bar.get_height() / 2,
                f"  {row['median_ms']:.2f} ms (p95 {row['p95_ms']:.2f}) "
                + ("가장 느림" if ratio == 1 else f"{ratio:g}배 빠름"), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("웜 호출의 Lambda Duration 중앙값 (ms), 오차 막대: p95")
    ax.set_xlim(0, max(r["p95_ms"] for r in rows) * 1.9)
    ax.set_title("호출 하나의 웜 Duration (REPORT 줄)")
    return _korean(fig)


def chart_storm(result: dict[str, Any]) -> Figure:
    """Left: the database's connected threads over time, direct and through the proxy. Right: successes and errors."""
    fig, (left, right) = _figure(10, 3.6, 2)
    for mode, run in result["runs"].items():
        xs, ys = zip(*run["threads"], strict=True) if run["threads"] else ((), ())
        left.step(xs, ys, where="post", color=COLORS[mode],
                  label=f"{MODE_LABELS.get(mode, mode)} (최대 {run['peak_db_threads']})")
    left.axhline(result["max_connections"], color="black", linestyle="--", linewidth=1)
    left.text(0, result["max_connections"], " max_connections", va="bottom", fontsize=8)
    left.axhline(result["pool_size"], color=COLORS["proxy"], linestyle=":", linewidth=1)
    left.text(0, result["pool_size"], " 프록시의 풀 크기", va="bottom", fontsize=8, color=COLORS["proxy"])
    left.set_xlabel("호출을 동시에 시작한 뒤 (초)")
    left.set_ylabel("DB 의 Threads_connected")
    left.set_ylim(0, result["max_connections"] + 3)
    left.set_title(f"동시 실행 {result['concurrency']}개")
    left.legend(loc="center right", fontsize=8)
    modes = list(result["runs"])
    ok = [result["runs"][m]["successes"] for m in modes]
    bad = [result["runs"][m]["errors"] for m in modes]
    labels = [MODE_LABELS.get(m, m) for m in modes]
    right.bar(labels, ok, color=COLORS["ok"], label="성공")
    right.bar(labels, bad, bottom=ok, color=COLORS["error"],
              label=f"실패 ({TOO_MANY_CONNECTIONS} Too many connections)")
    for i, (o, b) in enumerate(zip(ok, bad, strict=True)):
        right.text(i, o / 2, str(o), ha="center", color="white", fontsize=9)
        if b:
            right.text(i, o + b / 2, str(b), ha="center", color="white", fontsize=9)
    right.set_ylabel("호출 수")
    right.set_ylim(0, result["concurrency"] * 1.35)
    right.set_title("결과")
    right.legend(loc="upper center", fontsize=8, ncols=1)
    return _korean(fig)


def chart_pinning(result: dict[str, Any]) -> Figure:
    """Successes and borrow timeouts (9501) without commit and with the fix; the bystander's outcome in the labels."""
    fig, ax = _figure(6, 3.2)
    labels, ok, bad = [], [], []
    for label, run in result["runs"].items():
        bystander = "성공" if run["bystander"]["ok"] else f"오류 {run['bystander']['error_code']}"
        labels.append(f"{'커밋하지 않음' if label == 'no_commit' else '고친 뒤: ' + run['handler_fix']}\n"
                      f"(이어서 호출한 Module 3 함수: {bystander})")
        ok.append(run["successes"])
        bad.append(run["errors"])
    ax.bar(labels, ok, color=COLORS["ok"], label="성공")
    ax.bar(labels, bad, bottom=ok, color=COLORS["error"],
           label=f"실패 ({BORROW_TIMEOUT} ConnectionBorrowTimeout 초과)")
    ax.axhline(result["pool_size"], color="black", linestyle=":", linewidth=1)
    ax.text(0.5, result["pool_size"], f"풀 크기 {result['pool_size']}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("호출 수")
    ax.set_ylim(0, result["concurrency"] * 1.4)
    ax.set_title(f"동시 실행 {result['concurrency']}개, 풀 {result['pool_size']}개, "
                 f"ConnectionBorrowTimeout {result['borrow_timeout_s']}초", fontsize=10)
    ax.legend(loc="upper center", fontsize=8)
    return _korean(fig)


def chart_failover(result: dict[str, Any]) -> Figure:
    """Every invocation of both clients over time (green: ok, red: error), the restart shaded."""
    fig, ax = _figure(9, 2.6)
    ax.axvspan(result["reboot_start_s"], result["reboot_end_s"], color="grey", alpha=0.3, label="RebootDBInstance")
    for y, client in enumerate(result["clients"].values()):
        for r in client["timeline"]:
            ax.plot([r["start_s"], r["end_s"]], [y, y], color=COLORS["ok" if r["ok"] else "error"], linewidth=8,
                    solid_capstyle="butt")
    ax.set_yticks(range(len(result["clients"])),
                  [f"{MODE_LABELS.get(m, m)}\n(중단 {c['outage_s']}초)" if c["outage_s"] is not None
                   else f"{MODE_LABELS.get(m, m)}\n(복구되지 않음)" for m, c in result["clients"].items()])
    ax.set_ylim(-0.6, len(result["clients"]) - 0.4)
    ax.set_xlabel("초")
    ax.set_title("DB 가 재시작하는 동안의 호출 (초록: 성공, 빨강: 오류)")
    ax.legend(loc="upper right", fontsize=8)
    return _korean(fig)


def glyph_report(fig: Figure) -> dict[str, Any]:
    """Whether every character of `fig` is drawn with a real glyph (no tofu box): each text's characters looked up in
    the fonts matplotlib resolves for it (its families in order, as its font fallback does), and the warnings a draw
    gives. {"hangul_fonts": the font files that draw its Hangul, "missing": "text: character" for each character no
    font has, "warnings": matplotlib's missing-glyph warnings}."""
    import warnings
    from pathlib import Path

    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font
    from matplotlib.text import Text

    def files(props: FontProperties) -> list[str]:
        found = []
        for family in props.get_family():
            try:
                found.append(font_manager.findfont(font_manager.FontProperties(
                    family=family, style=props.get_style(), weight=props.get_weight()), fallback_to_default=False))
            except ValueError:  # a family that is not installed
                continue
        return list(dict.fromkeys(found))

    fonts: dict[str, FT2Font] = {}
    hangul_fonts, missing = set(), []
    for text in fig.findobj(Text):
        content = text.get_text()
        candidates = files(text.get_fontproperties())
        for char in sorted({c for c in content if not c.isspace()}):
            having = [f for f in candidates if fonts.setdefault(f, FT2Font(f)).get_char_index(ord(char))]
            if not having:
                missing.append(f"{content!r}: {char!r}")
            elif "\uac00" <= char <= "\ud7a3":
                hangul_fonts.add(Path(having[0]).name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return {"hangul_fonts": sorted(hangul_fonts), "missing": missing,
            "warnings": [str(w.message) for w in caught if "missing from font" in str(w.message)]}
