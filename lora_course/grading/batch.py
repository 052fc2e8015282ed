"""Grade a folder of submissions: one fenced kernel per notebook, several students in parallel.

``grade_batch`` never lets one submission stop the batch: whatever a notebook does ends as a status
(``ok``, ``missing``, ``error``, ``timeout``, ``malformed``) and points for the items that could be judged.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import secrets
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import nbformat
from tqdm import tqdm

from lora_course.grading.assemble import MalformedSubmission, assemble, read_submission
from lora_course.grading.clean_items import apply_rules, run_project_items
from lora_course.grading.items import GradedItem, items_from_solution
from lora_course.grading.probe import answers_probe, read_payload
from lora_course.grading.sandbox import Execution, Sandbox, run_in_sandbox
from lora_course.grading.verdict import ItemResult, judge_auto, judge_project, zero
from lora_course.support.startup import skip_unused_format_checker

STATUSES = ("ok", "missing", "error", "timeout", "malformed")   # worst last
CHECKS_MODULE = "lora_course.feedback.project.checks"


@dataclass
class NotebookResult:
    """One student's one notebook: status, reasons, item results, free-text answers by cell id."""

    notebook: str
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    markdown_answers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class StudentResult:
    """A CSV row's worth: the student's folder name and each graded notebook's result."""

    student: str
    notebooks: list[NotebookResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``ok`` or the worst status, followed by every reason (``timeout: 05_project.ipynb: ...``)."""
        worst = max((nb.status for nb in self.notebooks), key=STATUSES.index, default="missing")
        reasons = [f"{nb.notebook}: {r}" for nb in self.notebooks for r in nb.reasons]
        if not self.notebooks:
            reasons = ["no notebooks to grade"]
        return worst if worst == "ok" else f"{worst}: " + "; ".join(reasons)

    @property
    def results(self) -> list[ItemResult]:
        return [r for nb in self.notebooks for r in nb.results]


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs: the solution notebooks and their items, limits, seed."""

    solutions: dict[str, dict]                  # notebook name -> solution notebook (as a dict)
    items: dict[str, tuple[GradedItem, ...]]    # notebook name -> its graded items
    sandbox: Sandbox
    workroot: str
    seed: int = 0
    checks_module: str = CHECKS_MODULE


def load_plan(solutions_dir: Path, notebooks: list[str], sandbox: Sandbox, workroot: Path, seed: int = 0) -> Plan:
    """Read the solution notebooks to grade and their items (raises ItemError on bad metadata)."""
    sols, items = {}, {}
    for name in notebooks:
        nb = nbformat.read(Path(solutions_dir) / name, as_version=4)
        sols[name] = dict(nb)
        items[name] = tuple(items_from_solution(nb, name))
    return Plan(sols, items, sandbox, str(workroot), seed)


def student_seed(seed: int, sources: list[str]) -> int:
    """The checks' inputs' seed for one submission (60 bits), from the base seed and the code the kernel runs (the
    solution's cells with the student's answers and added cells, in order). The same code gets the same inputs
    wherever it is graded: a regrade, ``lora-course grade``, nbgrader's autograde (which rewrites the file's bytes)
    and the Gradescope autograder give the same verdicts. The inputs are unknowable before the code is final: a
    table of the reference's outputs pasted into the notebook changes the seed it was computed for (finding code
    whose hash lands on a tabulated seed is a search over 2^60)."""
    digest = hashlib.sha256(json.dumps(list(sources)).encode("utf-8", "surrogatepass")).hexdigest()
    return int(hashlib.sha256(f"{seed}:{digest}".encode()).hexdigest()[:15], 16)


def _status_from_run(run: Execution) -> tuple[str, list[str]]:
    """The notebook's status and its reasons. Hitting the memory limit is the whole story ("error", the memory
    reason alone) even with a timeout: a kernel squeezed against its memory limit runs slowly, more so on a busy
    machine, so whether a timeout followed depends on the load, and the row must not (a rerun gives the same CSV)."""
    if run.tampered:
        return "error", ["tampering: the notebook installed an audit, trace or profile hook or reached into the "
                         "interpreter's objects or memory, so the kernel was stopped"]
    if run.disk_full:
        return "error", ["disk: the notebook's files filled its job folder's size limit"]
    memory = [i for i, outs in enumerate(run.outputs) if any(o.get("ename") == "MemoryError" for o in outs)]
    memory_reason = []
    if memory or run.memory_limit:
        where = f"cell(s) {', '.join(str(i + 1) for i in memory)}" if memory else "the kernel's processes"
        memory_reason = [f"{where} hit the memory limit"]
    if run.died and run.memory_limit:
        return "error", [f"{run.died}: the kernel's processes together reached the memory limit"]
    if memory_reason:
        return "error", memory_reason
    if run.stalled:
        return "timeout", ["the kernel used no CPU for a long while (a cell that sleeps or waits), twice; "
                           "it was stopped"]
    if run.notebook_timeout:
        return "timeout", ["the notebook used up its CPU time (or wall-clock bound), or ignored an interrupt; "
                           "the kernel was stopped"]
    if run.died:
        return "error", [run.died]
    reasons, status = [], "ok"
    if run.timed_out_cells:
        status = "timeout"
        cells = ", ".join(str(i + 1) for i in run.timed_out_cells)
        reasons.append(f"cell(s) {cells} ran past the per-cell limit and were interrupted")
    if run.timed_out_probes:
        status = "timeout"
        reasons.append(f"{len(run.timed_out_probes)} check(s) ran past the per-cell limit when collected")
    return status, reasons


def _checks_for(item: GradedItem, default: str):
    """The checks module of a project item: its ``checks_module`` (if the item names one), else the plan's."""
    return importlib.import_module(getattr(item, "checks_module", None) or default)


def grade_notebook(plan: Plan, student: str, folder: Path, name: str, job: Path, checks=None) -> NotebookResult:
    """Run one submitted notebook in a sandboxed kernel and judge its items here."""
    items = plan.items[name]
    out = NotebookResult(name)
    path = folder / name
    if not path.exists() and not path.is_symlink():
        out.status, out.reasons = "missing", ["not submitted"]
        out.results = [zero(item, "notebook not submitted") for item in items]
        return out
    solution = nbformat.from_dict(plan.solutions[name])
    try:
        submission = read_submission(path)            # a regular file of at most MAX_NOTEBOOK_BYTES
        assembled = assemble(solution, submission, name)
    except MalformedSubmission as err:
        out.status, out.reasons = "malformed", [str(err)]
        out.results = [zero(item, "the notebook could not be read") for item in items]
        return out
    out.markdown_answers, out.notes = assembled.markdown_answers, assembled.notes

    channel_dir = str(job / "run" / "chan")
    answer_names = [item.target for item in items if item.kind == "auto"]
    project = [item for item in items if item.kind == "project"]
    modules = {item.grade_id: (checks if checks is not None and not getattr(item, "checks_module", None)
                               else _checks_for(item, plan.checks_module)) for item in project}
    by_module: dict[str, dict] = {}
    for mod in modules.values():
        if mod.__name__ not in by_module:
            by_module[mod.__name__] = mod.make_inputs(student_seed(plan.seed, assembled.sources))
    inputs = {gid: by_module[mod.__name__] for gid, mod in modules.items()}
    probes: list[tuple[str, str]] = []       # (nonce = channel file name, expression); a fresh nonce each
    nonce = secrets.token_hex(16)
    probes.append((nonce, answers_probe(nonce, answer_names, channel_dir)))
    run = run_in_sandbox(assembled.sources, probes, job, folder, plan.sandbox)
    if run.stalled:        # no CPU used for a long while: a sleeping cell, or a message lost; one more try
        shutil.rmtree(job, ignore_errors=True)
        out.notes.append("the kernel made no progress for a while, so the notebook was run a second time")
        run = run_in_sandbox(assembled.sources, probes, job, folder, plan.sandbox)
    out.status, out.reasons = _status_from_run(run)
    out.notes += [f"refused: {w}" for w in run.refused_files]
    for warning in run.refused_files:
        print(f"warning: {student}: {warning}", file=sys.stderr)

    payloads: list[dict | None] = []
    for data, error in zip(run.probe_payloads, run.probe_errors, strict=True):
        what = "the answers"
        try:
            payloads.append(read_payload(data, error))
        except ValueError as err:
            payloads.append(None)
            if out.status in ("ok", "error"):
                out.status = "error"
                out.reasons.append(f"{what} could not be collected: {err}")
    if not run.notebook_timeout and not run.died and len(run.probe_payloads) < len(probes):
        out.status = max(out.status, "error", key=STATUSES.index)
        out.reasons.append("the checks could not all be collected")
    payloads += [None] * (len(probes) - len(payloads))
    values = payloads[0].get("values") if payloads[0] and payloads[0].get("part") == "answers" else None
    # implement-it items: the answer cells alone, in a second interpreter where the reference does not exist
    cells = [(assembled.answer_ids[i], src) for i, src in enumerate(assembled.sources) if i in assembled.answer_ids]
    clean = run_project_items(solution, items, project, modules, inputs, cells, job, plan.sandbox) if project \
        else None
    by_check = clean.payloads if clean else {}
    if clean and clean.reasons:
        out.status = max(out.status, clean.status, key=STATUSES.index)
        out.reasons += clean.reasons
    for item in items:
        if item.kind == "auto":
            out.results.append(judge_auto(item, values if isinstance(values, dict) else None))
        elif item.kind == "project":
            out.results.append(judge_project(item, by_check.get(item.grade_id), inputs[item.grade_id],
                                             modules[item.grade_id]))
        else:
            out.results.append(zero(item, "") if item.cell_id in out.markdown_answers
                               else ItemResult(item, None, "to grade by hand", "no answer found"))
    if clean:
        tables = {gid: getattr(mod, "CHECKS", {}) for gid, mod in modules.items()}
        out.results, signals = apply_rules(out.results, clean, tables, cells, assembled.sources, assembled.origins)
        out.notes += signals
    return out


def grade_student(plan: Plan, student_dir: str, index: int) -> StudentResult:
    """Grade every planned notebook of one student's folder (a worker's unit of work). The student's kernels run as
    a uid of their own (base uid + the student's index in the batch): no two students share one, whatever worker."""
    folder = Path(student_dir)
    plan = replace(plan, sandbox=replace(plan.sandbox, uid=plan.sandbox.uid + index))
    result = StudentResult(folder.name)
    for k, name in enumerate(sorted(plan.solutions)):
        job = Path(plan.workroot) / f"{index:05d}-{k:02d}"
        try:
            result.notebooks.append(grade_notebook(plan, folder.name, folder, name, job))
        except Exception as err:  # noqa: BLE001 - one broken submission must not stop the batch
            nb = NotebookResult(name, "error", [f"grader error: {type(err).__name__}: {err}"])
            nb.results = [zero(item, "grader error") for item in plan.items[name]]
            result.notebooks.append(nb)
        finally:
            shutil.rmtree(job, ignore_errors=True)
    return result


def find_students(submissions: Path) -> list[Path]:
    """Student folders in ``submissions``, sorted by name (hidden ones included; symlinks are skipped, see
    :func:`skipped_entries`)."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS: expected a folder with one folder per student, got {submissions}")
    return sorted((p for p in submissions.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: p.name)


def skipped_entries(submissions: Path) -> list[str]:
    """A warning for each entry of ``submissions`` that gets no row: symlinks and files that are not folders."""
    out = []
    for p in sorted(Path(submissions).iterdir(), key=lambda p: p.name):
        if p.is_symlink():
            out.append(f"{p.name!r} is a symlink: skipped (a student folder must be a real folder)")
        elif not p.is_dir():
            out.append(f"{p.name!r} is a file, not a student folder: skipped")
    return out


def graded_notebooks(solutions_dir: Path, students: list[Path], only: list[str] | None = None) -> list[str]:
    """Solution notebooks to grade: those named by ``only`` (number prefixes), else any a student submitted
    that has graded items."""
    available = sorted(p.name for p in Path(solutions_dir).glob("[0-9][0-9]_*.ipynb"))
    if not available:
        raise FileNotFoundError(f"no solution notebooks (NN_name.ipynb) in {solutions_dir}")
    if only:
        chosen = [n for n in available if n.startswith(tuple(only))]
        if not chosen:
            raise ValueError(f"--notebooks: no solution notebook starts with {', '.join(only)}; have {available}")
        return chosen
    submitted = [n for n in available if any((s / n).exists() or (s / n).is_symlink() for s in students)]
    # A notebook with no graded item (appendix 06, ungraded and needing the [torch] extra) is not run.
    return [n for n in submitted
            if items_from_solution(nbformat.read(Path(solutions_dir) / n, as_version=4), n)]


def new_workroot() -> Path:
    """A private folder for the kernels' job folders (each job is then owned by its kernel's uid)."""
    root = Path(tempfile.mkdtemp(prefix="lora-grade-"))
    root.chmod(0o711)
    return root


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` spawned workers, each without jsonschema's unused ``iri`` checker (support/startup.py: 1.2 s)."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                               initializer=skip_unused_format_checker)


def grade_batch(students: list[Path], plan: Plan, jobs: int = 1, progress: bool = True) -> list[StudentResult]:
    """Grade every student folder; results come back in the order of ``students``."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected an integer >= 1, got {jobs!r}")
    bar = tqdm(total=len(students), desc="grading", unit="student", disable=not progress, file=sys.stderr)
    results: dict[int, StudentResult] = {}
    try:
        if jobs == 1:
            for i, folder in enumerate(students):
                results[i] = grade_student(plan, str(folder), i)
                bar.update()
        else:
            with worker_pool(jobs) as pool:
                futures = {pool.submit(grade_student, plan, str(folder), i): i for i, folder in enumerate(students)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except Exception as err:  # noqa: BLE001 - a worker that died still gives a row
                        results[i] = StudentResult(students[i].name, [NotebookResult(
                            n, "error", [f"grader worker failed: {type(err).__name__}: {err}"],
                            [zero(item, "grader error") for item in plan.items[n]]) for n in sorted(plan.solutions)])
                    bar.update()
    finally:
        bar.close()
    return [results[i] for i in range(len(students))]
