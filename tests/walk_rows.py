"""One row of the student walk: a right answer written another way, with the names it replaces in a lesson's
solution (all at once, so that a forward and the backward that reads its cache travel together)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Right:
    lesson: str
    task: str
    label: str
    replaces: dict
