"""Every change the local cloud makes to moto's code, as a registered patch: applied once when the cloud starts,
undone the same way for any of them (tests undo what they applied).

A patch names the moto class and the attributes it replaces, and a `build` that makes the replacements from
the originals (and from what the running cloud gives it: its endpoint, the proxy targets' health). Applying a
patch again replaces the same originals, never a replacement: patches never stack.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .contract import assumption


@dataclass(frozen=True)
class Patch:
    name: str
    owner: str  # "module:Class" of moto
    attributes: tuple[str, ...]
    build: Callable[..., dict[str, Any]]  # build(originals, **context) -> {attribute: replacement}
    needs: tuple[str, ...]  # the context it takes (keyword names of `build`)
    assumption: str  # what of moto it relies on


REGISTRY: dict[str, Patch] = {}
_originals: dict[str, dict[str, Any]] = {}  # patch name -> the attributes it replaced, as moto had them


Build = TypeVar("Build", bound=Callable[..., dict[str, Any]])


def register(name: str, owner: str, attributes: tuple[str, ...], relies_on: str,
             needs: tuple[str, ...] = ()) -> Callable[[Build], Build]:
    """Decorator: register `build` as the patch `name`."""
    def decorator(build: Build) -> Build:
        REGISTRY[name] = Patch(name, owner, attributes, build, needs, relies_on)
        return build
    return decorator


def _owner(patch: Patch) -> type:
    module, _, cls = patch.owner.partition(":")
    with assumption(f"{patch.owner} exists"):
        found: type = getattr(importlib.import_module(module), cls)
        return found


def apply(name: str, **context: Any) -> None:
    """Apply one patch (again: from moto's originals, so the newest context wins)."""
    patch = REGISTRY[name]
    owner = _owner(patch)
    with assumption(patch.assumption):
        originals = _originals.get(name) or {attr: owner.__dict__[attr] for attr in patch.attributes}
        replacements = patch.build(originals, **{key: context[key] for key in patch.needs})
    _originals[name] = originals
    for attr, value in replacements.items():
        setattr(owner, attr, value)


def apply_all(**context: Any) -> None:
    """Apply every registered patch; `context` holds what any of them needs."""
    for name in REGISTRY:
        apply(name, **context)


def undo(name: str) -> None:
    """Put moto's originals back (nothing to do when the patch is not applied)."""
    originals = _originals.pop(name, None)
    if originals is None:
        return
    owner = _owner(REGISTRY[name])
    for attr, value in originals.items():
        setattr(owner, attr, value)


def undo_all() -> None:
    for name in list(_originals):
        undo(name)


def applied() -> list[str]:
    return sorted(_originals)
