"""``lora-course grade`` against attempts to forge implement-it grades (real kernels, a few minutes with --jobs 2).

The fixtures (tests/forge_fixtures.py) reach for the package's reference in every way we know, try to change what
the clean interpreter sees from cells added after the answers, tamper with it from an answer cell, or are honest
students whose code looks unusual (a helper named like the package's ``lora_forward``, einsum, a pasted copy).
Each must get exactly its honest score; the same input graded twice gives the same CSV byte for byte.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest
from fencing import requires_fence
from forge_fixtures import FIXTURES, ITEMS, LORA, NAME, solution, submission

from lora_course.cli.main import main
from lora_course.feedback.reference_use import static_findings
from lora_course.grading.collect_source import collect_source
from lora_course.grading.similarity import FLAG, similarity
from lora_course.grading.student_view import build_view

RERUN = ("r_walrus_list", "n_marshal_blob", "t_channel", "h_own_lora_forward", "h_pasted_copy")


def grade(solutions: Path, subs: Path, out: Path, *extra: str) -> dict[str, dict[str, str]]:
    assert main(["grade", str(subs), "--solutions", str(solutions), "--out", str(out), "--jobs", "2",
                 "--timeout", "30", "--no-progress", *extra]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("forge")
    solutions, subs = tmp / "solutions", tmp / "subs"
    solutions.mkdir()
    nbformat.write(solution(), solutions / NAME)
    for student, (_, answers, added, *_rest) in FIXTURES.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(submission(answers, added), subs / student / NAME)
    rows = grade(solutions, subs, tmp / "grades.csv", "--feedback", str(tmp / "fb"))
    again = tmp / "again"
    for student in RERUN:
        (again / student).mkdir(parents=True)
        (again / student / NAME).write_bytes((subs / student / NAME).read_bytes())
    grade(solutions, again, tmp / "again.csv")
    return rows, tmp


@pytest.mark.parametrize("student", sorted(FIXTURES))
@requires_fence
def test_each_submission_gets_its_honest_score(graded, student):
    rows, tmp = graded
    kind, _, _, lora, forward, status, words = FIXTURES[student]
    row = rows[student]
    got = [row[g] for g in ITEMS]
    assert got == [f"{p:g}" for p in (*lora, forward)], (student, kind, got, row["status"])
    if status is not None:
        assert row["status"].split(":")[0] == status, (student, row["status"])
    text = (tmp / "fb" / f"{student}.md").read_text(encoding="utf-8")
    assert all(w in text for w in words), (student, words, text[-3000:])


@requires_fence
def test_the_table_of_fixture_classes(graded):
    """The closing note's table: per class, how many fixtures, how many forged (more points than honest), how many
    honest students over-penalised (fewer points than honest)."""
    rows, _ = graded
    table: dict[str, list[int]] = {}
    for student, (kind, _, _, lora, forward, *_) in FIXTURES.items():
        got = sum(float(rows[student][g]) for g in ITEMS)
        entry = table.setdefault(kind, [0, 0, 0])
        entry[0] += 1
        entry[1] += got > sum(lora) + forward
        entry[2] += got < sum(lora) + forward
    print(json.dumps(table, indent=0))
    assert sum(e[0] for e in table.values()) >= 30
    assert all(e[1] == 0 and e[2] == 0 for e in table.values()), table


@requires_fence
def test_the_same_input_graded_twice_gives_the_same_csv(graded):
    _, tmp = graded
    first = (tmp / "grades.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    expected = "".join([first[0], *(line for line in first[1:] if line.split(",")[0] in RERUN)])
    assert (tmp / "again.csv").read_bytes() == expected.encode("utf-8")


@requires_fence
def test_an_honest_helper_named_like_the_package_s_is_not_flagged_by_the_static_scan(graded):
    _, tmp = graded
    assert "static scan" not in (tmp / "fb" / "h_own_lora_forward.md").read_text(encoding="utf-8")
    assert "static scan" in (tmp / "fb" / "r_grader_modules.md").read_text(encoding="utf-8")


def test_the_view_holds_no_reference_and_the_collect_source_no_judge():
    """What the clean interpreter is given: no module that is or imports a reference, no judge."""
    view = build_view(solution(), [], [LORA, "scale_factor(4, 8.0)\nPackageLoRA"], [("lora_course.lessons.l05_project",
                                                                         "FrozenNetwork")])
    assert "lora_course.lessons.l05_project" in view.modules and "lora_course.validation" in view.modules
    assert not any(m.startswith(("lora_course.feedback.project", "lora_course.grading", "lora_course.lowrank",
                                 "lora_course.merge", "lora_course.multi_lora", "lora_course.analysis"))
                   for m in view.modules)
    layer = view.modules["lora_course.layer"]            # scale_factor only, handed out with the setup
    assert "def scale_factor" in layer and "class LoRA" not in layer and "def lora_forward" not in layer
    assert view.dropped["PackageLoRA"] == "lora_course.layer.LoRA"
    for module in ("lora_course.feedback.project.checks", "lora_course.feedback.tasks.lesson02"):
        source, _ = collect_source(module)
        assert "judge" not in source and "lora_course.layer" not in source and "linear_lora_forward" not in source


def test_the_view_holds_the_helpers_a_student_imports_but_never_a_reference():
    """An answer cell may import a helper module that is no reference (its own validation, the cache contract):
    the clean interpreter has it, as the kernel had. A reference it imports stays out, however it is spelled."""
    answers = [LORA, "from lora_course.cache_check import check_cache\nimport lora_course.validation as V\n"
                     "def f():\n    from lora_course.merge import merge\n    from lora_course.layer import LoRA\n"
                     "    from lora_course.feedback.project import lora\n"]
    view = build_view(solution(), [], answers, [])
    assert "lora_course.cache_check" in view.modules and "lora_course.validation" in view.modules
    assert not any(m.startswith(("lora_course.merge", "lora_course.feedback.project")) for m in view.modules)
    assert "class LoRA" not in view.modules.get("lora_course.layer", "")


def test_the_static_scan_drops_an_alias_the_student_rebinds():
    setup = "from lora_course.layer import lora_forward, LoRA"
    uses = "class LoRA:\n    def forward(self, x):\n        return lora_forward(x, self.A, self.B, self.scale)\n"
    refs = ["lora_course.layer.LoRA", "lora_course.layer.lora_forward"]
    assert static_findings([(setup, False), (uses, True)], refs, ["LoRA"])
    for binding in ("def lora_forward(x, A, B, s):\n    return x, None", "class lora_forward:\n    pass",
                    "lora_forward = None", "for lora_forward in [None]:\n    pass",
                    "with open(__file__) as lora_forward:\n    pass", "import numpy as lora_forward",
                    "from math import sqrt as lora_forward"):
        assert static_findings([(setup, False), (binding + "\n" + uses, True)], refs, ["LoRA"]) == [], binding


HONEST = {   # reference -> own solutions written independently, in styles unlike the course's
    "lora_course.layer.LoRA": [FIXTURES["h_own_lora_forward"][1]["lora-task"],
                               FIXTURES["h_unusual_style"][1]["lora-task"].replace("%load_ext autoreload", "")],
    "lora_course.layer.lora_backward": ['''
def lora_layer_backward(G, cache):
    X, W0, A, B, Z, s = cache
    grad_B = (G.T @ Z) * s
    grad_Z = (G @ B) * s
    return G @ W0 + grad_Z @ A, grad_Z.T @ X, grad_B
''', '''
def lora_layer_backward(G, cache):
    inputs, frozen, down, up, low, scale = cache
    n = inputs.shape[0]
    dB = np.zeros_like(up)
    dA = np.zeros_like(down)
    dX = np.zeros_like(inputs)
    for i in range(n):
        g = G[i]
        dB += scale * np.outer(g, low[i])
        dz = scale * up.T @ g
        dA += np.outer(dz, inputs[i])
        dX[i] = frozen.T @ g + down.T @ dz
    return dX, dA, dB
'''],
    "lora_course.gradcheck.numerical_gradient": ['''
def numerical_gradient(f, x, h=1e-5):
    out = np.empty(x.shape)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        idx = it.multi_index
        keep = float(x[idx])
        x[idx] = keep + h
        up = f()
        x[idx] = keep - h
        down = f()
        x[idx] = keep
        out[idx] = (up - down) / (2.0 * h)
        it.iternext()
    return out
'''],
    "lora_course.lowrank.factorize": ['''
def factor_rank_r(M, r):
    U, s, Vt = np.linalg.svd(M)
    root = np.sqrt(s[:r])
    return U[:, :r] * root, root[:, None] * Vt[:r]
'''],
    "lora_course.merge.merge": ['''
def merge_weight(W0, A, B, scale):
    delta = np.einsum("dr,rk->dk", B, A)
    return W0 + scale * delta
'''],
}


def _course_solutions() -> list[tuple[str, str]]:
    """(task source, reference source) for every implement-it item of the course's solutions."""
    import importlib

    from lora_course.grading.items import answer_cell_ids, items_from_solution
    from lora_course.grading.similarity import reference_sources, task_source
    out = []
    for path in sorted((Path(__file__).resolve().parent.parent / "solutions").glob("0[1-5]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        answers = [c.source for c in nb.cells if c.get("id") in answer_cell_ids(nb) and c.cell_type == "code"]
        for item in items_from_solution(nb, path.name):
            if item.kind == "project" and item.reference:
                table = importlib.import_module(item.checks_module or "lora_course.feedback.project.checks").CHECKS
                mine = task_source(answers, table[item.target].task_names)
                out += [(mine, ref) for ref in reference_sources(item.reference).values()]
    return out


def test_the_similarity_flag_sits_between_honest_solutions_and_pasted_copies():
    """Calibration of similarity.FLAG: the course's own solutions and solutions written independently in other
    styles stay at least 0.1 below it; the reference pasted with a variable renamed and comments added is above."""
    from lora_course.grading.similarity import reference_sources
    pairs = _course_solutions()
    for ref, honest in HONEST.items():
        pairs += [(h, reference_sources([ref])[ref]) for h in honest]
    scores = [similarity(mine, ref) for mine, ref in pairs]
    print(f"honest solutions: {len(scores)} pairs, highest similarity {max(scores):.2f}, flag at {FLAG}")
    assert len(pairs) > 40 and max(scores) < FLAG - 0.1
    for ref in ("lora_course.layer.LoRA", "lora_course.layer.lora_backward", "lora_course.merge.merge"):
        source = reference_sources([ref])[ref]
        pasted = re.sub(r"\bscale\b", "s", source).replace("\n\n", "\n    # my own comment\n\n")
        assert pasted != source and similarity(pasted, source) >= FLAG


@requires_fence
def test_a_check_that_runs_forever_is_stopped_at_the_per_cell_limit_in_the_clean_interpreter(tmp_path):
    """Per-check CPU limits hold in the clean interpreter: a forward that never returns costs the two checks that
    call it (interrupted after --timeout CPU seconds) and nothing else."""
    solutions, subs = tmp_path / "solutions", tmp_path / "subs"
    solutions.mkdir()
    nbformat.write(solution(), solutions / NAME)
    line = "        z = x @ self.A.T"
    looping = LORA.replace(line, "        while True:\n            pass\n" + line)
    assert looping != LORA
    (subs / "loops").mkdir(parents=True)
    nbformat.write(submission({"lora-task": looping}), subs / "loops" / NAME)
    out = tmp_path / "grades.csv"
    assert main(["grade", str(subs), "--solutions", str(solutions), "--out", str(out), "--timeout", "1.5",
                 "--feedback", str(tmp_path / "fb"), "--no-progress"]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert [row[g] for g in ITEMS] == ["2", "0", "0", "1", "1", "2"], row
    assert row["status"].startswith("timeout"), row["status"]
    assert "timeout" in (tmp_path / "fb" / "loops.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("notebook", ["01_rank.ipynb", "02_reparameterization.ipynb", "03_targets_and_rank.ipynb",
                                      "04_merging_and_deployment.ipynb", "05_project.ipynb"])
def test_every_lesson_s_checks_and_view_can_be_built_without_a_reference(notebook):
    """Each lesson's collect source has no judge and no package import at its top; its view holds none of the
    lesson's references (a module of the view neither defines nor imports one)."""
    import ast
    import importlib

    from lora_course.grading.items import answer_cell_ids, items_from_solution
    from lora_course.grading.source_closure import package_imports
    nb = nbformat.read(Path(__file__).resolve().parent.parent / "solutions" / notebook, as_version=4)
    items = items_from_solution(nb, notebook)
    modules = {i.checks_module or "lora_course.feedback.project.checks" for i in items if i.kind == "project"}
    refs = {r for i in items for r in i.reference}
    answers = [c.source for c in nb.cells if c.get("id") in answer_cell_ids(nb) and c.cell_type == "code"]
    for module in modules:
        source, needs = collect_source(module)
        table = importlib.import_module(module).CHECKS
        assert "def judge" not in source and "def _judge" not in source
        assert set(table) <= set(compile(source, module, "exec").co_names) | set(source.split("'"))
        view = build_view(nb, items, answers, list(needs))
        for name, text in view.modules.items():
            tree = ast.parse(text)
            defined = {f"{name}.{s.name}" for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
            imported = {f"{m}.{n}" for m, n, _ in package_imports(tree, name)}
            assert not (defined | imported) & refs, (name, (defined | imported) & refs)


@requires_fence
def test_the_package_stays_hidden_when_the_course_folder_is_allowed(tmp_path):
    """``--allow`` of a folder that holds the package (the course checkout) still leaves its files out of the clean
    interpreter's sight: an empty tmpfs covers them."""
    solutions, subs = tmp_path / "solutions", tmp_path / "subs"
    solutions.mkdir()
    nbformat.write(solution(), solutions / NAME)
    for student in ("n_open_source", "h_solution"):
        (subs / student).mkdir(parents=True)
        nbformat.write(submission(FIXTURES[student][1], FIXTURES[student][2]), subs / student / NAME)
    rows = grade(solutions, subs, tmp_path / "grades.csv", "--allow", str(Path(__file__).resolve().parent.parent))
    assert [rows["n_open_source"][g] for g in ITEMS] == ["0", "0", "0", "0", "0", "2"]
    assert [rows["h_solution"][g] for g in ITEMS] == ["2", "2", "3", "1", "1", "2"]
