"""The results drawn for the notebook and `make bench`: an HTML table of measured values, and one
matplotlib chart per measurement (each `chart_*` returns its Figure)."""
from __future__ import annotations

from typing import Any

from .connection_storm import TOO_MANY_CONNECTIONS
from .pinning_pitfall import BORROW_TIMEOUT

# ---------------------------------------------------------------- tables for the notebook

def html_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]):
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
        return escape("-" if value is None else str(value))

    head = "".join(f"<th>{escape(header)}</th>" for _, header in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(row.get(key))}</td>" for key, _ in columns) + "</tr>" for row in rows)
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# ---------------------------------------------------------------- charts (matplotlib; each returns its Figure)

VARIANT_LABELS = {"module2": "Module 2\n(connect in handler)",
                  "module3_printed": "Module 3 as printed\n(secret + connect in handler)",
                  "module3": "project's Module 3\n(module scope)"}
COLORS = {"direct": "#d62728", "proxy": "#1f77b4", "ok": "#2ca02c", "error": "#d62728"}


def _figure(width: float, height: float, columns: int = 1):
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height), constrained_layout=True)


def chart_durations(rows: list[dict[str, Any]]):
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
                + ("slowest" if ratio == 1 else f"{ratio:g}x faster"), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("warm Lambda Duration, median (ms); whisker: p95")
    ax.set_xlim(0, max(r["p95_ms"] for r in rows) * 1.9)
    ax.set_title("Warm Duration per invocation (REPORT lines)")
    return fig


def chart_storm(result: dict[str, Any]):
    """Left: the database's connected threads over time, direct and through the proxy. Right: successes and errors."""
    fig, (left, right) = _figure(10, 3.6, 2)
    for mode, run in result["runs"].items():
        xs, ys = zip(*run["threads"], strict=True) if run["threads"] else ((), ())
        left.step(xs, ys, where="post", color=COLORS[mode], label=f"{mode} (peak {run['peak_db_threads']})")
    left.axhline(result["max_connections"], color="black", linestyle="--", linewidth=1)
    left.text(0, result["max_connections"], " max_connections", va="bottom", fontsize=8)
    left.axhline(result["pool_size"], color=COLORS["proxy"], linestyle=":", linewidth=1)
    left.text(0, result["pool_size"], " proxy pool size", va="bottom", fontsize=8, color=COLORS["proxy"])
    left.set_xlabel("seconds since the invocations were released")
    left.set_ylabel("database Threads_connected")
    left.set_ylim(0, result["max_connections"] + 3)
    left.set_title(f"{result['concurrency']} concurrent executions")
    left.legend(loc="center right", fontsize=8)
    modes = list(result["runs"])
    ok = [result["runs"][m]["successes"] for m in modes]
    bad = [result["runs"][m]["errors"] for m in modes]
    right.bar(modes, ok, color=COLORS["ok"], label="succeeded")
    right.bar(modes, bad, bottom=ok, color=COLORS["error"],
              label=f"failed ({TOO_MANY_CONNECTIONS} Too many connections)")
    for i, (o, b) in enumerate(zip(ok, bad, strict=True)):
        right.text(i, o / 2, str(o), ha="center", color="white", fontsize=9)
        if b:
            right.text(i, o + b / 2, str(b), ha="center", color="white", fontsize=9)
    right.set_ylabel("invocations")
    right.set_ylim(0, result["concurrency"] * 1.35)
    right.set_title("outcome")
    right.legend(loc="upper center", fontsize=8, ncols=1)
    return fig


def chart_pinning(result: dict[str, Any]):
    """Successes and borrow timeouts (9501) without commit and with the fix; the bystander's outcome in the labels."""
    fig, ax = _figure(6, 3.2)
    labels, ok, bad = [], [], []
    for label, run in result["runs"].items():
        bystander = "ok" if run["bystander"]["ok"] else f"error {run['bystander']['error_code']}"
        labels.append(f"{'no commit' if label == 'no_commit' else 'fix: ' + run['handler_fix']}\n"
                      f"(Module 3 handler: {bystander})")
        ok.append(run["successes"])
        bad.append(run["errors"])
    ax.bar(labels, ok, color=COLORS["ok"], label="succeeded")
    ax.bar(labels, bad, bottom=ok, color=COLORS["error"], label=f"failed ({BORROW_TIMEOUT} borrow timeout)")
    ax.axhline(result["pool_size"], color="black", linestyle=":", linewidth=1)
    ax.text(0.5, result["pool_size"], f"pool size {result['pool_size']}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("invocations")
    ax.set_ylim(0, result["concurrency"] * 1.4)
    ax.set_title(f"{result['concurrency']} concurrent executions, pool of {result['pool_size']}, "
                 f"borrow timeout {result['borrow_timeout_s']} s", fontsize=10)
    ax.legend(loc="upper center", fontsize=8)
    return fig


def chart_failover(result: dict[str, Any]):
    """Every invocation of both clients over time (green: ok, red: error), the restart shaded."""
    fig, ax = _figure(9, 2.6)
    ax.axvspan(result["reboot_start_s"], result["reboot_end_s"], color="grey", alpha=0.3, label="RebootDBInstance")
    for y, client in enumerate(result["clients"].values()):
        for r in client["timeline"]:
            ax.plot([r["start_s"], r["end_s"]], [y, y], color=COLORS["ok" if r["ok"] else "error"], linewidth=8,
                    solid_capstyle="butt")
    ax.set_yticks(range(len(result["clients"])), [f"{m}\n(outage {c['outage_s']} s)" if c["outage_s"] is not None
                                                  else f"{m}\n(not recovered)"
                                                  for m, c in result["clients"].items()])
    ax.set_ylim(-0.6, len(result["clients"]) - 0.4)
    ax.set_xlabel("seconds")
    ax.set_title("Invocations while the database restarts (green: ok, red: error)")
    ax.legend(loc="upper right", fontsize=8)
    return fig
