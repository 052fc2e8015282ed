"""Write the grades: one CSV row per student, and one Markdown feedback file per student for the instructor."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import sys
from pathlib import Path

from lora_course.authoring.safe_write import make_folder, write_keeping_old
from lora_course.grading.batch import Plan, StudentResult
from lora_course.grading.items import GradedItem


def _number(x: float) -> str:
    return f"{x:g}"


def all_items(plan: Plan) -> list[GradedItem]:
    """Every graded item, by notebook name and then cell order: the CSV's column order."""
    return [item for name in sorted(plan.items) for item in plan.items[name]]


def csv_rows(results: list[StudentResult], plan: Plan) -> list[list[str]]:
    """Header plus one row per student: student, each item's points (empty for manual), total, max, status."""
    items = all_items(plan)
    rows = [["student", *(i.grade_id for i in items), "total", "max", "status"]]
    for student in sorted(results, key=lambda r: r.student):
        scores = {r.item.grade_id: r.score for r in student.results}
        cells = ["" if scores.get(i.grade_id) is None else _number(scores[i.grade_id]) for i in items]
        total = sum(s for s in scores.values() if s is not None)
        name = student.student
        if name[:1] in ("=", "+", "-", "@"):        # a spreadsheet would run it as a formula
            name = "'" + name
        rows.append([name, *cells, _number(total), _number(sum(i.points for i in items)), student.status])
    return rows


def write_csv(path: Path, results: list[StudentResult], plan: Plan) -> Path | None:
    """Write the grades CSV (deterministic: sorted rows, fixed columns, no timestamps).

    An existing CSV with other content (say, with hand-entered manual scores) is kept as a .bak copy,
    whose path is returned.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(results, plan))
    return write_keeping_old(Path(path), buffer.getvalue())


def escape(text: str) -> str:
    """Student text for Markdown: raw HTML cannot pass through (``<script>`` becomes ``&lt;script&gt;``)."""
    return html.escape(str(text), quote=False)


def _quote(text: str) -> str:
    text = escape(text.strip()) or "(empty)"
    return "\n".join(f"> {line}" for line in text.split("\n"))


def feedback_markdown(student: StudentResult, plan: Plan) -> str:
    """The instructor's view of one student: status, each item's result and hint, free-text answers."""
    total = sum(r.score for r in student.results if r.score is not None)
    auto_max = sum(r.item.points for r in student.results if r.item.kind != "manual")
    lines = [f"# Feedback: {escape(student.student)}", "", f"- Status: {escape(student.status)}",
             f"- Auto-graded points: {_number(total)} / {_number(auto_max)} (free-text answers to grade by hand)", ""]
    for nb in student.notebooks:
        lines += [f"## {nb.notebook}", "", f"Status: **{nb.status}**" + (f" ({escape('; '.join(nb.reasons))})"
                                                                        if nb.reasons else ""), ""]
        lines += [f"- Note: {escape(note)}" for note in nb.notes] + ([""] if nb.notes else [])
        graded = [r for r in nb.results if r.item.kind != "manual"]
        if graded:
            lines += ["| item | points | result | details | hint |", "|---|---|---|---|---|"]
            for r in graded:
                cells = [r.item.grade_id, f"{_number(r.score or 0)} / {_number(r.item.points)}", r.result,
                         r.message, r.hint if r.score != r.item.points else ""]
                lines.append("| " + " | ".join(escape(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
            lines.append("")
        for r in nb.results:
            if r.item.kind != "manual":
                continue
            answer = nb.markdown_answers.get(r.item.cell_id)
            lines += [f"### {r.item.grade_id} (free text, {_number(r.item.points)} points)", "",
                      "Student's answer:", "", _quote(answer) if answer is not None else "> (no answer cell found)",
                      "", "Model answer:", "", _quote(r.item.model_answer), ""]
    return "\n".join(lines).rstrip() + "\n"


def safe_filename(student: str) -> str:
    """A file name for a student's feedback that cannot leave the feedback folder, nor be another student's.

    A name of plain letters, digits, ``.``, ``_`` and ``-`` (not starting with a dot) is kept; any other
    gets its unsafe characters replaced and a short hash of the real name appended (``李雷`` and ``韩梅``
    differ).
    """
    kept = re.sub(r"[^A-Za-z0-9._-]", "_", student).lstrip(".")
    if kept and kept == student and len(kept) <= 100:
        return kept
    return f"{(kept or 'student')[:80]}-{hashlib.sha256(student.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"


def write_feedback(folder: Path, results: list[StudentResult], plan: Plan) -> list[Path]:
    """One ``<student>.md`` per student in ``folder`` (never through a link); returns the paths written."""
    folder = make_folder(Path(folder))
    written: list[Path] = []
    taken: set[str] = set()
    for student in sorted(results, key=lambda r: r.student):
        name = safe_filename(student.student)
        if name.lower() in taken:                          # e.g. Ana and ana on a case-insensitive disk
            n = 2
            while f"{name}-{n}".lower() in taken:
                n += 1
            print(f"lora-course grade: warning: feedback for {student.student!r} is in {name}-{n}.md",
                  file=sys.stderr)
            name = f"{name}-{n}"
        taken.add(name.lower())
        path = folder / f"{name}.md"
        write_keeping_old(path, feedback_markdown(student, plan), backup_dir=folder / "previous")
        written.append(path)
    return written
