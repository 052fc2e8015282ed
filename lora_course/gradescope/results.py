"""Gradescope's results format (``/autograder/results/results.json``) built from our grader's item results.

The format is Gradescope's published "Autograder Specifications" (output format); ``results.schema.json`` beside
this module is that format written as a JSON Schema. What a student sees is only what this module writes: per
item, the grader's verdict word, its message and hint (the same feedback the notebook's own checks print), never
an answer key, a model answer, a project check's inputs or a hidden test. Every text is plain ``text`` format
(Gradescope shows it verbatim, so student-chosen text cannot turn into HTML), with control characters removed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lora_course.grading.items import GradedItem

SCHEMA = Path(__file__).with_name("results.schema.json")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
MAX_TEXT = 4000                                   # characters of one test's output (Gradescope truncates far later)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")    # keeps \t and \n


def schema() -> dict:
    """The JSON Schema of ``results.json`` (draft 2020-12), as a dict."""
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as plain text for Gradescope: no control or escape characters (an ANSI colour code, a NUL), at
    most ``limit`` characters (an ellipsis marks a cut)."""
    out = _CONTROL.sub("", str(text)).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _points(x: float) -> str:
    return f"{x:g}"


def item_name(item: GradedItem) -> str:
    """The test's name: the item's grade id and what it grades (``05-lora_init: check lora_init``)."""
    what = {"auto": f"answer {item.target}", "project": f"check {item.target}",
            "manual": "free-text answer, graded by hand"}[item.kind]
    return f"{item.grade_id}: {what}"


def item_test(item: GradedItem, graded: dict | None, visibility: str) -> dict:
    """One ``tests`` entry. ``graded`` is the grader's result for the item (score, result, message, hint), or
    None when the grader handed back nothing for it (then 0 points, with that reason)."""
    common = {"name": item_name(item), "name_format": "text", "output_format": "text", "visibility": visibility,
              "extra_data": {"grade_id": item.grade_id, "kind": item.kind, "points": item.points}}
    if item.kind == "manual":
        answered = graded is not None and graded.get("message") != "no answer found"
        text = (f"Graded by hand by the course staff ({_points(item.points)} points, not part of the autograder's "
                "score). " + ("Your answer cell was found." if answered else "No answer cell was found."))
        return {**common, "score": 0.0, "max_score": 0.0, "output": text}
    if graded is None:
        score, lines = 0.0, ["not graded: the grader handed back no result for this item"]
    else:
        raw = graded.get("score")
        score = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else 0.0
        score = min(max(score, 0.0), float(item.points))          # a score is never outside [0, points]
        lines = [clean(graded.get("result", ""), 200) or "graded"]
        if graded.get("message"):
            lines.append(clean(graded["message"], 1500))
        if graded.get("hint") and score < item.points:
            lines.append("Hint: " + clean(graded["hint"], 1500))
    status = "passed" if score >= item.points else "failed"
    return {**common, "score": score, "max_score": float(item.points), "status": status,
            "output": clean("\n".join(lines))}


def summary(items: list[GradedItem], score: float, header: list[str]) -> str:
    """The top-level ``output``: how it was graded (``header``), then the points."""
    auto = sum(i.points for i in items if i.kind != "manual")
    manual = sum(i.points for i in items if i.kind == "manual")
    lines = [clean(h, 1000) for h in header if h]
    lines.append(f"Autograded points: {_points(score)} / {_points(auto)}."
                 + (f" Free-text answers ({_points(manual)} points) are graded by hand." if manual else ""))
    return "\n".join(lines)


def results(items: list[GradedItem], graded: dict[str, dict], header: list[str], seconds: float,
            visibility: str = "visible") -> dict:
    """``results.json`` for a notebook the grader ran: one test per item of ``items`` (the solution's, in order;
    ``graded`` maps grade id -> the grader's result), the total, how long it took."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility: expected one of {VISIBILITIES}, got {visibility!r}")
    tests = [item_test(item, graded.get(item.grade_id), visibility) for item in items]
    score = sum(t["score"] for t in tests)
    return {"score": score, "execution_time": round(max(seconds, 0.0), 3), "output": summary(items, score, header),
            "output_format": "text", "visibility": visibility, "stdout_visibility": "hidden", "tests": tests}


def failed_submission(items: list[GradedItem], reason: str, header: list[str], seconds: float,
                      visibility: str = "visible") -> dict:
    """``results.json`` when nothing could be graded (no notebook, two notebooks, not a notebook, a grader
    failure): one failed test that says why, worth every autograded point."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility: expected one of {VISIBILITIES}, got {visibility!r}")
    auto = float(sum(i.points for i in items if i.kind != "manual"))
    test = {"name": "Submission: one readable lesson notebook", "name_format": "text", "score": 0.0,
            "max_score": auto, "status": "failed", "output": clean(reason), "output_format": "text",
            "visibility": visibility}
    return {"score": 0.0, "execution_time": round(max(seconds, 0.0), 3), "output": summary(items, 0.0, header),
            "output_format": "text", "visibility": visibility, "stdout_visibility": "hidden", "tests": [test]}
