"""Cleanup of the measurements alone: every setting put back and every measurement resource deleted
(what `registration.RESOURCES` lists, with cleanup's own machinery), and what is left of them."""
from __future__ import annotations

from .. import cleanup
from ..core.config import Lab
from .registration import RESOURCES


def remove_measurement_resources(lab: Lab) -> list[cleanup.Row]:
    """Every setting back and every measurement resource deleted; safe to run twice.
    One row per resource: {"resource", "name", "result": cleanup.DELETED | ALREADY_GONE | KEPT}."""
    return cleanup.run(lab, RESOURCES)


def measurement_leftovers(lab: Lab) -> list[cleanup.Left]:
    """Measurement resources that still exist (empty after `remove_measurement_resources`)."""
    return cleanup.still_there(lab, RESOURCES)
