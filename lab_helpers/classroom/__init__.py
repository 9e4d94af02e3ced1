"""The instructor's view of a shared account: every learner's lab in one region, and cleanup for one or all.

- `roster.roster(lab)`: one row per learner (the notebooks reached, the lab's resources, what bills and its USD per
  hour, the lab's age), found by the lab's names and tags (`discover`, `roster`);
- `clean.clean(lab, learners)`: 99_cleanup level="all" for each of them, with the same ownership rules (`clean`).

On the command line: `python -m lab_helpers.classroom list | cleanup` (see `__main__`), or `make classroom`.
"""
from . import clean, discover, roster

__all__ = ["clean", "discover", "roster"]
