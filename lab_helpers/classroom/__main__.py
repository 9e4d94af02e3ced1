"""`python -m lab_helpers.classroom`: every learner's lab in a shared account, and cleanup for one or all.

    python -m lab_helpers.classroom list --target aws --region ap-northeast-2
    python -m lab_helpers.classroom cleanup --target aws --learner kim01 [--learner lee02]
    python -m lab_helpers.classroom cleanup --target aws --all --yes [--jobs 4]

(`make classroom TARGET=aws`, `make classroom-cleanup TARGET=aws LEARNER=kim01`, `... ALL=1`.) The lab with
the module's own names (no learner prefix) is shown and named as "-". The exit code is 0 when everything asked
for was done (cleanup: nothing of those labs left), 1 otherwise, 2 for a command that needs more from you.
"""
from __future__ import annotations

import argparse
import sys

from ..core import choices
from ..core.config import TARGETS, Lab, NoCredentials
from ..local import LocalCloudError
from ..notebook import table
from . import clean, roster

COLUMNS = ["learner", "notebooks", "resources", "billable", "usd_per_hour", "age"]


def _account(lab: Lab) -> str:
    try:
        return lab.account_id
    except Exception:  # an account id is only shown; the listing itself says what fails
        return "?"


def show(lab: Lab, rows: list[roster.LearnerRow]) -> None:
    """The roster as a table, with the hourly total and what bills, resource by resource."""
    total = sum(r["usd_per_hour"] for r in rows)
    print(f"Module 3 labs in account {_account(lab)}, region {lab.region} (target {lab.target}): {len(rows)} "
          f"learner(s), about {total:.3f} USD per hour in all")
    if not rows:
        return
    table([{**r, "usd_per_hour": f"{r['usd_per_hour']:.4f}"} for r in rows], COLUMNS)
    bills = roster.billing(lab, [roster.parse(r["learner"]) for r in rows])
    if bills and lab.target == "aws":
        print("\nWhat bills by the hour until it is deleted:")
        table([{**b, "usd_per_hour": f"{b['usd_per_hour']:.4f}"} for b in bills],
              ["learner", "resource", "name", "usd_per_hour"])
    elif lab.target != "aws":
        print("\n(local cloud: nothing is billed; the prices are what the same labs would cost on AWS)")
    print("\nClean up one learner's lab: python -m lab_helpers.classroom cleanup --learner <learner> "
          "(make classroom-cleanup LEARNER=<learner>); every lab: ... cleanup --all --yes (make classroom-cleanup "
          "ALL=1).")


def _cleanup(lab: Lab, args: argparse.Namespace) -> int:
    rows = roster.roster(lab)
    present = {roster.parse(r["learner"]) for r in rows}
    if args.all:
        learners = sorted(present)
        if not args.yes:
            show(lab, rows)
            print(f"\nThis removes the {len(learners)} labs above (99_cleanup level=\"all\" for each). Run it again "
                  "with --yes to go ahead.")
            return 2
    else:
        learners = [roster.parse(name) for name in args.learner]
        for learner in [name for name in learners if name not in present]:
            print(f"{roster.shown(learner)}: no lab of this learner in region {lab.region}; nothing to clean up.")
        learners = [name for name in learners if name in present]
    if not learners:
        print("Nothing to clean up.")
        return 0
    print(f"Cleaning up {len(learners)} lab(s) in region {lab.region} (target {lab.target}), {args.jobs} at a time:")
    outcomes = clean.clean(lab, learners, args.jobs)
    left = [r for r in roster.roster(lab) if roster.parse(r["learner"]) in learners]
    bills = roster.billing(lab, learners)
    print()
    if bills:
        print("Still billing (delete these, or run the cleanup again once AWS has finished deleting):")
        table(bills, ["learner", "resource", "name", "usd_per_hour"])
    else:
        print("Still billing: nothing of these labs.")
    if left:
        print("Still there (run the same cleanup again; a kept resource has the lab's name but not its tag, so "
              "delete it by hand if it is not needed):")
        table(left, COLUMNS)
    failed = [o["learner"] for o in outcomes if o["error"]]
    if failed:
        print(f"Cleanup failed for: {', '.join(failed)} (the error is above); run the same command again.")
    return 1 if failed or left or bills else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.classroom",
                                     description="Every learner's lab in a shared account and region; cleanup.")
    parser.add_argument("command", choices=["list", "cleanup"], nargs="?", default="list")
    parser.add_argument("--target", choices=TARGETS, default="local")
    parser.add_argument("--region", default=None, help="default: your AWS configuration's (aws), else ap-northeast-2")
    parser.add_argument("--learner", action="append", default=[],
                        help="cleanup: this learner's lab (repeat for several; '-' for the module's own names)")
    parser.add_argument("--all", action="store_true", help="cleanup: every learner's lab in the region")
    parser.add_argument("--yes", action="store_true", help="with --all: go ahead without showing the list first")
    parser.add_argument("--jobs", type=int, default=1, help="cleanup: labs cleaned side by side (default 1)")
    args = parser.parse_args(argv)
    if args.command == "cleanup" and bool(args.learner) == args.all:
        parser.error("cleanup needs either --learner <learner> (one or more) or --all")
    if args.command == "list" and (args.learner or args.all):
        parser.error("--learner and --all are for cleanup: python -m lab_helpers.classroom cleanup --learner ...")
    try:
        lab = Lab.connect(args.target, choices.check_region(args.region or choices.default_region(args.target)))
        if args.command == "list":
            show(lab, roster.roster(lab))
            return 0
        return _cleanup(lab, args)
    except (LocalCloudError, NoCredentials, choices.ChoiceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
