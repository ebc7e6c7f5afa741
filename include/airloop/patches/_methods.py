"""Replacing one method of a library class, reversibly visible: the original stays reachable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ORIGINAL = "_airloop_original"


def replace_method(owner: type, name: str, make: Callable[[Any], Any]) -> None:
    """Set ``owner.name`` to ``make(original)`` once per process (a second call does nothing)."""
    original = getattr(owner, name)
    if getattr(original, _ORIGINAL, None) is not None:
        return
    replacement = make(original)
    setattr(replacement, _ORIGINAL, original)
    setattr(owner, name, replacement)


def original_method(owner: type, name: str) -> Any:
    """The library's own ``owner.name``, whether or not it was replaced."""
    current = getattr(owner, name)
    return getattr(current, _ORIGINAL, current)
