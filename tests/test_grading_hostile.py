"""``lora-course grade`` on a small course against broken and hostile submissions (real kernels, ~40 s).

Every crafted submission must end with the right status and points, without stopping the batch,
changing another student's row, or changing any file in SUBMISSIONS.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import nbformat
from fencing import requires_fence

from lora_course.authoring.student import student_version
from lora_course.cli.main import main
from lora_course.feedback.answers import make_key
from lora_course.grading.batch import new_workroot
from lora_course.grading.sandbox import Limits, Sandbox, paths_to_hide, run_in_sandbox

pytestmark = requires_fence

NAME = "01_toy.ipynb"
SCALE = {"grade_id": "toy-scale", "points": 3, "kind": "auto", "answer": "answer_scale"}
PARAMS = {"grade_id": "toy-params", "points": 2, "kind": "auto", "answer": "answer_params"}
SHAPE = {"grade_id": "toy-shape", "points": 1, "kind": "auto", "answer": "answer_shape"}
WHY = {"grade_id": "toy-why", "points": 2, "kind": "manual"}
HEADER = ["student", "toy-scale", "toy-params", "toy-why", "toy-shape", "total", "max", "status"]


def cell(kind: str, source: str, cid: str, meta: dict | None = None, tags: list[str] | None = None):
    c = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    c.id = cid
    if meta:
        c.metadata["lora_course"] = meta
    if tags:
        c.metadata["tags"] = tags
    return c


def toy_solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        cell("md", "# Toy lesson", "title"),
        cell("code", "import numpy as np\nfrom lora_course import check", "setup"),
        cell("code", "def lora_scale(alpha, r):\n    ### BEGIN SOLUTION\n    return alpha / r\n    ### END SOLUTION",
             "fn", tags=["student-raises"]),
        cell("code", "answer_scale = lora_scale(16, 4)\n"
             f"check(answer_scale, {make_key(4.0, 'number', 3)!r}, hint='alpha / r', name='scale')", "chk", SCALE),
        cell("code", "### BEGIN SOLUTION\nanswer_params = 4 * (16 + 8)\n### END SOLUTION\n"
             f"check(answer_params, {make_key(96, 'int')!r}, hint='r (d + k)', name='params')", "params", PARAMS),
        cell("code", "answer_params = 96  # must never run for a student", "secret", tags=["solution-only"]),
        cell("md", "Why does B start at zero?\n### BEGIN SOLUTION\nSo that B A = 0: training starts from the "
             "pre-trained model.\n### END SOLUTION", "why", WHY),
        cell("code", "### BEGIN SOLUTION\nanswer_shape = (8, 4)\n### END SOLUTION\n"
             f"check(answer_shape, {make_key((8, 4), 'tuple')!r}, hint='(d, r)', name='shape of B')", "shape", SHAPE),
    ]
    return nb


def with_answers(nb: nbformat.NotebookNode, **sources: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cells (by id) get new sources."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for c in nb.cells:
        if c.id in sources:
            c.source = sources.pop(c.id)
    assert not sources, f"no cells with ids {list(sources)}"
    return nb


def added(nb: nbformat.NotebookNode, after: str, source: str, cid: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a student cell inserted after cell ``after``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    index = [c.id for c in nb.cells].index(after)
    nb.cells.insert(index + 1, cell("code", source, cid))
    return nb


FENCE_PROBE = r'''
import glob, os, socket
seen = {p: os.path.exists(p) and bool(os.listdir(p)) for p in SECRET_DIRS}
try:
    open(os.path.join(PACKAGE, "planted.py"), "w").write("x = 1")
    wrote = True
except OSError:
    wrote = False
try:
    socket.create_connection(("1.1.1.1", 80), timeout=1)
    net = True
except OSError:
    net = False
print(json.dumps({"uid": os.getuid(), "seen": seen, "wrote": wrote, "net": net, "env": sorted(os.environ)}))
'''


def build(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A course with one solution notebook and a folder of crafted submissions (student -> what it tests)."""
    sol = toy_solution()
    solutions = tmp_path / "course" / "solutions"
    solutions.mkdir(parents=True)
    nbformat.write(sol, solutions / NAME)
    stub = student_version(sol, NAME)
    secret_paths = [str(solutions / NAME), str(Path(__file__).resolve().parent.parent / "solutions")]
    crafted: dict[str, nbformat.NotebookNode | bytes | None] = {
        "a_solution": sol,
        "b_untouched": stub,
        "c_partial": with_answers(stub, params="answer_params = 4 * (16 + 8)", shape="answer_shape = (4, 8)"),
        "d_scale_alpha": with_answers(sol, fn="def lora_scale(alpha, r):\n    return alpha"),
        "e_loop": added(sol, "setup", "while True:\n    pass", "loop"),
        "f_stubborn_loop": added(sol, "setup", "while True:\n    try:\n        while True:\n            pass\n"
                                 "    except KeyboardInterrupt:\n        pass", "loop"),
        "g_memory_bomb": added(sol, "setup", "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))", "bomb"),
        "h_malformed": b'{"cells": [{"cell_type": "code", "source": "answer_params = 96"',
        "i_shuffled": None,   # built below
        "j_monkeypatch": added(with_answers(stub, params="answer_params = 1"), "setup",
                               "import builtins\nimport numpy\nimport lora_course, lora_course.feedback.answers\n"
                               "lora_course.feedback.answers.evaluate = lambda *a, **k: 'correct'\n"
                               "lora_course.feedback.answers.check = lambda *a, **k: print('correct')\n"
                               "numpy.allclose = numpy.array_equal = lambda *a, **k: True\n"
                               "numpy.load = lambda *a, **k: 96\n"
                               "builtins.round = lambda *a, **k: 96\n", "patch"),
        "k_fake_result": added(with_answers(stub, params="answer_params = 1"), "setup",
                               "import json, re\n"
                               "for name in ('grades.csv', 'result.json', '../result.json', '/tmp/result.json'):\n"
                               "    try:\n        open(name, 'w').write('a_solution,3,2,,1,6,8,ok')\n"
                               "    except OSError:\n        pass\n"
                               "def forge(info):\n"
                               "    m = re.search(r\"NONCE = '([0-9a-f]{32})'\", info.raw_cell)\n"
                               "    if m:\n"
                               "        print(m.group(1), json.dumps({'part': 'answers', 'values': "
                               "{'answer_params': 96, 'answer_scale': 4.0, 'answer_shape': {'__tuple__': [8, 4]}}}))\n"
                               "get_ipython().events.register('pre_run_cell', forge)\n", "fake"),
        "l_reads_solutions": added(stub, "setup",
                                   "import re\nfor path in " + repr(secret_paths) + ":\n"
                                   "    try:\n        text = open(path).read()\n"
                                   "        answer_params = int(re.search(r'answer_params = (\\d+)', text).group(1))\n"
                                   "    except Exception as err:\n        print('blocked:', type(err).__name__)\n",
                                   "steal"),
        "m_kills_kernel": added(sol, "setup", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "kill"),
        "n_writes_submission": added(sol, "setup", f"open({str(tmp_path / 'subs' / 'n_writes_submission' / NAME)!r},"
                                     " 'a').write('x')", "write"),
        "o_missing": None,
    }
    shuffled = with_answers(stub, chk="answer_scale = 4.0  # edited check cell",
                            params="answer_params = 4 * (16 + 8)")
    shuffled.cells = list(reversed(shuffled.cells))
    shuffled.cells = [c for c in shuffled.cells if c.id != "shape"]                   # deleted answer cell
    dup = nbformat.from_dict(json.loads(json.dumps([c for c in shuffled.cells if c.id == "params"][0])))
    dup.source = "answer_params = 0"
    shuffled.cells.append(dup)                                                        # duplicated id
    crafted["i_shuffled"] = shuffled
    subs = tmp_path / "subs"
    for student, content in crafted.items():
        folder = subs / student
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / NAME).write_bytes(content)
        elif student == "i_shuffled":      # raw JSON: nbformat.write would renumber the duplicated id
            (folder / NAME).write_text(json.dumps(content))
        elif content is not None:
            nbformat.write(content, folder / NAME)
    (subs / "a_solution" / "data.txt").write_text("helper data")
    return solutions, subs, {s: "" for s in crafted}


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grade(solutions: Path, subs: Path, out: Path, *extra: str) -> dict[str, list[str]]:
    code = main(["grade", str(subs), "--out", str(out), "--solutions", str(solutions), "--timeout", "3",
                 "--notebook-timeout", "12", "--memory-mb", "1536", *extra])
    assert code == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == HEADER
    return {row[0]: row[1:] for row in rows[1:]}


def test_hostile_batch(tmp_path, capsys):
    solutions, subs, _ = build(tmp_path)
    before = digest(subs)
    rows = grade(solutions, subs, tmp_path / "grades.csv", "--jobs", "2", "--feedback", str(tmp_path / "fb"))
    assert digest(subs) == before, "grading must not change any file in SUBMISSIONS"
    assert "grading" in capsys.readouterr().err, "a progress bar is shown"

    def check(student, scores, status):
        row = rows.pop(student)
        assert row[:-1] == [*scores, str(sum(int(s) for s in scores if s)), "8"], (student, row)
        assert row[-1].split(":")[0] == status, (student, row[-1])
        return row[-1]

    check("a_solution", ["3", "2", "", "1"], "ok")
    check("b_untouched", ["0", "0", "", "0"], "ok")
    check("c_partial", ["0", "2", "", "0"], "ok")
    check("d_scale_alpha", ["0", "2", "", "1"], "ok")
    assert "interrupted" in check("e_loop", ["3", "2", "", "1"], "timeout")
    assert "time limit" in check("f_stubborn_loop", ["0", "0", "", "0"], "timeout")
    assert "memory" in check("g_memory_bomb", ["3", "2", "", "1"], "error")
    assert "not valid JSON" in check("h_malformed", ["0", "0", "", "0"], "malformed")
    check("i_shuffled", ["0", "2", "", "0"], "ok")
    check("j_monkeypatch", ["0", "0", "", "0"], "ok")
    assert "tampering" in check("k_fake_result", ["0", "0", "", "0"], "error")
    check("l_reads_solutions", ["0", "0", "", "0"], "ok")
    assert "died" in check("m_kills_kernel", ["0", "0", "", "0"], "error")
    check("n_writes_submission", ["3", "2", "", "1"], "ok")
    assert "not submitted" in check("o_missing", ["0", "0", "", "0"], "missing")
    assert not rows

    feedback = (tmp_path / "fb" / "b_untouched.md").read_text()
    assert "| toy-params | 0 / 2 | not answered |" in feedback and "r (d + k)" in feedback
    assert "> *Your answer here.*" in feedback and "> So that B A = 0" in feedback
    assert "> So that B A = 0" in (tmp_path / "fb" / "a_solution.md").read_text()

    # the same batch (a part of it, serially) gives the same rows
    for student in [p.name for p in subs.iterdir()]:
        if student not in ("a_solution", "c_partial", "j_monkeypatch"):
            (subs / student / NAME).unlink(missing_ok=True)
    again = grade(solutions, subs, tmp_path / "again.csv", "--jobs", "1", "--no-progress")
    first = {r[0]: r[1:] for r in list(csv.reader((tmp_path / "grades.csv").open()))[1:]}
    for student in ("a_solution", "c_partial", "j_monkeypatch"):
        assert again[student] == first[student]


def test_the_kernel_is_fenced(tmp_path):
    course = Path(__file__).resolve().parent.parent
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    sandbox = Sandbox(hidden=paths_to_hide(course, [secret]), limits=Limits(cell_seconds=10, notebook_seconds=30),
                      uid=64000)
    import lora_course
    probe = FENCE_PROBE.replace("SECRET_DIRS", repr([str(secret), str(course / "solutions"), str(course / ".git")]))
    probe = "import json\n" + probe.replace("PACKAGE", repr(str(Path(lora_course.__file__).parent)))
    workroot = new_workroot()         # pytest's tmp_path is private to root: the kernel's uid could not enter
    try:
        run = run_in_sandbox(["x = 1"], [probe], workroot / "job", None, sandbox)
    finally:
        shutil.rmtree(workroot)
    assert not run.died, run.died
    text = "".join(o.get("text", "") for o in run.probe_outputs[0])
    facts = json.loads(text.strip().splitlines()[-1])
    assert facts["uid"] == 64000, "the kernel runs as an unprivileged uid"
    assert not any(facts["seen"].values()), f"hidden folders are empty in the kernel: {facts['seen']}"
    assert not facts["wrote"], "the package cannot be modified from the kernel"
    assert not (Path(lora_course.__file__).parent / "planted.py").exists()
    assert not facts["net"], "no network"
    assert not [k for k in facts["env"] if "TOKEN" in k or "KEY" in k or k.startswith(("GIT", "SSH", "AWS"))
                and k != "GIT_PAGER"], facts["env"]
