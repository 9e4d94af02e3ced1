"""Never a silent bill: what of this learner's lab bills on AWS now, and the one command that removes it.

Used where a run on AWS can stop half-way: `make lab` when a notebook fails (`run_lab`), and each
notebook itself (`report_on_failure` hooks the kernel, so an error in any cell is followed by the
list), and 99_cleanup's closing line (`closing_line`).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from .core.config import DEFAULT_REGION, Lab


def total_usd_per_hour(rows: Sequence[Mapping[str, Any]]) -> float:
    total: float = sum(row["usd_per_hour"] for row in rows)
    return total


def cleanup_command(lab: Lab) -> str:
    """The one command that removes everything of this learner's lab on AWS (99_cleanup, level "all")."""
    choices = [f"REGION={lab.region}"] if lab.region != DEFAULT_REGION else []
    if lab.names.learner:
        choices.append(f"LEARNER={lab.names.learner}")
    return " ".join(["make lab TARGET=aws CONFIRM_COSTS=1", *choices, "LEVEL=all NB=99_cleanup"])


def describe(lab: Lab, rows: Sequence[Mapping[str, Any]]) -> str:
    """`rows` (cleanup.still_billing) as the learner reads them: each resource with its cost, the total, and
    how to remove them all."""
    if not rows:
        return "이 실습의 리소스 중 과금되는 것이 남아 있지 않습니다."
    width = max(len(str(row["name"])) for row in rows)
    total = total_usd_per_hour(rows)
    lines = [f"⚠️ AWS 에 이 실습의 유료 리소스가 남아 있습니다 ({lab.region}):"]
    lines += [f"  {row['usd_per_hour']:.4f} USD/시간  {str(row['name']).ljust(width)}  {row['resource']}"
              for row in rows]
    lines += [f"  합계: 약 {total:.3f} USD/시간 (약 {total * 24:.2f} USD/일), 지울 때까지 계속 과금됩니다.",
              f"  모두 지우려면: 99_cleanup 노트북을 level=\"all\" 로 실행하거나, 터미널에서 `{cleanup_command(lab)}`"]
    return "\n".join(lines)


def leftovers(lab: Lab) -> str:
    """What of this learner's lab bills now, described; or why it could not be listed (never raises)."""
    from . import cleanup  # cleanup imports every resource module: only when needed

    try:
        return describe(lab, cleanup.still_billing(lab))
    except Exception as e:
        return (f"⚠️ 남은 유료 리소스를 확인하지 못했습니다 ({type(e).__name__}: {e}). AWS 콘솔에서 확인하거나 "
                f"`{cleanup_command(lab)}` 로 모두 지우세요.")


def report_on_failure(lab: Lab) -> None:
    """In a notebook kernel on AWS: after any cell's error (its traceback shown as usual), print what of the
    lab bills now and how to remove it. Nothing outside a kernel, or on the local cloud."""
    if lab.target != "aws":
        return
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return

    def after_error(shell: Any, etype: type[BaseException], value: BaseException, tb: TracebackType | None,
                    tb_offset: int | None = None) -> None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        print(leftovers(lab))
        return None

    shell.set_custom_exc((Exception,), after_error)


def closing_line(lab: Lab, level: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """99_cleanup's last line once nothing of `level` is left: ✅ only when nothing of the lab bills; else ⚠️ with
    the hourly cost and what to do."""
    done = f"level={level!r} 에서 지울 실습 리소스가 남아 있지 않습니다"
    if lab.target != "aws":
        return f"✅ 정리 완료: {done}. 로컬 클라우드라 요금은 없습니다."
    if not rows:
        return f"✅ 정리 완료: {done}. AWS 에 과금되는 이 실습의 리소스도 없습니다."
    total = total_usd_per_hour(rows)
    return (f"⚠️ {done}. 하지만 이 실습의 리소스 {len(rows)}개가 약 {total:.3f} USD/시간 (약 {total * 24:.2f} USD/일) "
            "으로 계속 과금됩니다 (위 표). Module 4 로 이어서 실습하는 것이 아니라면 99_cleanup 을 level=\"all\" 로 "
            f"다시 실행하거나 터미널에서 `{cleanup_command(lab)}` 를 실행하세요.")
