"""Cleanup for the instructor: one learner's lab, or every learner's, with 99_cleanup's own rules.

Each learner's lab is removed by `cleanup.cleanup(lab, "all")` on a Lab with that learner's names, exactly
as the learner's 99_cleanup with `level="all"` would: only resources of the learner's names that carry the
lab's tag are changed or deleted; one of the same name without the tag is kept and reported. Several labs
can be cleaned side by side (`jobs`; on AWS each waits minutes for its database). At the end, what of those
labs still bills is listed (`cleanup.still_billing`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypedDict

from .. import cleanup
from ..core.config import Lab
from .roster import lab_for, shown


class Outcome(TypedDict):
    learner: str
    deleted: int
    already_gone: int
    kept: int  # of the learner's names but without the lab's tag: left alone, as 99_cleanup does
    kept_names: list[str]
    seconds: float
    error: str  # "" when cleanup finished


def clean_one(lab: Lab, learner: str, echo: Callable[[str], None] = print) -> Outcome:
    """`cleanup.cleanup(<learner's lab>, "all")`, with a line when it starts and one when it ends."""
    who = shown(learner)
    echo(f"{who}: cleaning up (99_cleanup level=\"all\") ...")
    began = time.monotonic()
    try:
        rows = cleanup.cleanup(lab_for(lab, learner), "all")
    except Exception as e:  # one learner's failure must not stop the others' cleanup
        seconds = time.monotonic() - began
        echo(f"{who}: FAILED after {seconds:.0f} s: {type(e).__name__}: {e}")
        return Outcome(learner=who, deleted=0, already_gone=0, kept=0, kept_names=[], seconds=seconds, error=str(e))
    seconds = time.monotonic() - began
    kept = [f"{r['resource']} {r['name']}" for r in rows if r["result"] == cleanup.KEPT]
    outcome = Outcome(learner=who, deleted=sum(r["result"] == cleanup.DELETED for r in rows),
                      already_gone=sum(r["result"] == cleanup.ALREADY_GONE for r in rows), kept=len(kept),
                      kept_names=kept, seconds=seconds, error="")
    echo(f"{who}: done in {seconds:.0f} s: {outcome['deleted']} deleted, {outcome['already_gone']} already gone"
         + (f", {len(kept)} kept (same name, no lab:project tag: not the lab's): {'; '.join(kept)}" if kept else ""))
    return outcome


def clean(lab: Lab, learners: list[str], jobs: int = 1, echo: Callable[[str], None] = print) -> list[Outcome]:
    """Clean up each learner's lab (`jobs` at a time), in the order given; one Outcome each."""
    if jobs <= 1 or len(learners) <= 1:
        return [clean_one(lab, learner, echo) for learner in learners]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda learner: clean_one(lab, learner, echo), learners))
