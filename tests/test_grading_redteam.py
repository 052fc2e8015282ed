"""A second round of crafted submissions against ``lora-course grade`` (one batch of real kernels, 1-2 min).

Each fixture names its class and gets the score the student's genuine work earns: a forgery must earn nothing
more, an honest student nothing less. The toy course is test_grading_hostile's (3 + 2 + 1 points, one manual item).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
from fencing import requires_fence
from test_grading_hostile import HEADER, NAME, UID_BASE, added, toy_solution, with_answers

from lora_course.authoring.student import student_version
from lora_course.cli.main import main

pytestmark = requires_fence

FULL, NONE = ["3", "2", "", "1"], ["0", "0", "", "0"]

# student code that runs inside the probe whenever the interpreter collects garbage: a gc callback finds the
# probe's frame and adds the answers it lacks to the dict the probe reads them from
GC_CALLBACK = r'''
import gc, sys
def inject(phase, info):
    frame = sys._getframe(1)
    while frame is not None:
        g = frame.f_globals
        if "NAMES" in g and type(g.get("found")) is dict:
            g["found"].update(answer_params=96, answer_scale=4.0, answer_shape=(8, 4))
        frame = frame.f_back
gc.callbacks.append(inject)
gc.set_threshold(1)
'''

# the same from a signal handler that fires every 0.2 ms
SIGNAL_HANDLER = r'''
import signal
def inject(signum, frame):
    while frame is not None:
        g = frame.f_globals
        if "NAMES" in g and type(g.get("found")) is dict:
            g["found"].update(answer_params=96, answer_scale=4.0, answer_shape=(8, 4))
        frame = frame.f_back
signal.signal(signal.SIGALRM, inject)
signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
'''

# a child that outlives its cell and writes guessed channel files, the connection file and the key's old path
FORK_CHILD = r'''
import os, time
if os.fork() == 0:
    time.sleep(1.0)
    for name in ["../chan/" + "%032x" % i for i in range(50)] + ["../connection.json", "../guard.key"]:
        try:
            with open(name, "w") as f:
                f.write('[]\n{"part": "answers", "values": {"answer_params": 96}}')
        except OSError:
            pass
    os._exit(0)
'''

WRITES_JOB = r'''
import os
for name in ("../chan/forged", "../connection.json", "../guard.key", "../../spec.json", "../kernel.log"):
    try:
        with open(name, "w") as f:
            f.write('[]\n{"part": "answers", "values": {"answer_params": 96}}')
    except OSError as err:
        print(name, type(err).__name__)
print("chan listable:", os.access("../chan", os.R_OK))
'''

PROC_MEM = {   # /proc/self/mem reached by a name that does not start with /proc/
    "dotdot": "open('/dev/../proc/self/mem', 'rb')",
    "relative": "import os\nos.chdir('/proc/self')\nopen('mem', 'rb')",
    "symlink": "import os\nos.symlink('/proc/self/mem', '/tmp/m')\nopen('/tmp/m', 'rb')",
    "dir_fd": "import os\nfd = os.open('/proc/self', os.O_RDONLY)\nos.open('mem', os.O_RDONLY, dir_fd=fd)",
}

LYING = {      # answer values whose methods lie: each must be refused, never read through its methods
    "numpy_item": "import numpy as np\nclass F(np.float64):\n    __module__ = 'numpy'\n"
                  "    def item(self):\n        return 96\nanswer_params = F(1.0)",
    "int_subclass": "class I(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                    "    def __index__(self):\n        return 96\n    def __float__(self):\n        return 96.0\n"
                    "    def __round__(self, n=None):\n        return 96\n    def __format__(self, spec):\n"
                    "        return '96'\n    def __repr__(self):\n        return '96'\nanswer_params = I(1)",
    "reduce_array": "import numpy as np\nclass R:\n    def __reduce__(self):\n        return (int, (96,))\n"
                    "    def __array__(self, *a, **k):\n        return np.array(96)\n    def __int__(self):\n"
                    "        return 96\n    __index__ = __int__\nanswer_params = R()",
    "bool_as_int": "answer_params = True",
}


def build(tmp: Path) -> tuple[Path, Path, dict]:
    sol = toy_solution()
    solutions = tmp / "course" / "solutions"
    solutions.mkdir(parents=True)
    nbformat.write(sol, solutions / NAME)
    stub = student_version(sol, NAME)
    last = "shape"
    cases = {   # student -> (notebook, expected scores, status, a word of the reason)
        # honest work with values of unusual types keeps its points; one odd answer loses only its item
        "h_numpy_scalars": (with_answers(sol, params="answer_params = np.int64(4) * (16 + 8)",
                                         shape="answer_shape = tuple(np.array([8, 4]))"), FULL, "ok", ""),
        "h_huge_int": (with_answers(sol, params="answer_params = 10 ** 400"), ["3", "0", "", "1"], "ok", ""),
        "h_nan": (with_answers(sol, params="answer_params = float('nan')"), ["3", "0", "", "1"], "ok", ""),
        "h_name_raises": (with_answers(sol, params="class Meta(type):\n    @property\n    def __name__(cls):\n"
                                       "        raise RuntimeError('no name')\nclass Odd(metaclass=Meta):\n"
                                       "    pass\nanswer_params = Odd()"), ["3", "0", "", "1"], "ok", ""),
        "h_odd_files": (sol, FULL, "ok", ""),
        # an honest student who profiles a cell: the profiler is a hook that sees every frame
        "h_prun": (added(sol, "chk", "%prun -q lora_scale(16, 4)", "profile"), NONE, "error", "tampering"),
        # lying values
        **{f"l_{k}": (with_answers(stub, params=v), NONE, "ok", "") for k, v in LYING.items()},
        "l_tuple_subclass": (with_answers(stub, shape="class T(tuple):\n    def __eq__(self, other):\n"
                                          "        return True\n    def __iter__(self):\n"
                                          "        return iter((8, 4))\nanswer_shape = T((1, 1))"), NONE, "ok", ""),
        "l_ndarray_subclass": (added(stub, "chk", "import numpy as np\nclass A(np.ndarray):\n"
                                     "    def tobytes(self, *a, **k):\n        return np.float64(4.0).tobytes()\n"
                                     "    def __float__(self):\n        return 4.0\n"
                                     "answer_scale = np.array(1.0).view(A)", "lie"), NONE, "ok", ""),
        # the feedback helpers, check itself, the channel and the job folder
        "c_redefine_check": (with_answers(stub, params="def check(*a, **k):\n    print('correct')\n"
                                          "answer_params = 1\ncheck(answer_params, 'lc1:x')"), NONE, "ok", ""),
        "c_patch_feedback": (added(stub, "setup", "import lora_course, lora_course.feedback.answers as fa\n"
                                   "fa.diagnose = lambda *a, **k: ('correct', '')\n"
                                   "lora_course.check = lambda *a, **k: None", "patch"), NONE, "ok", ""),
        "c_writes_job": (added(stub, "setup", WRITES_JOB, "write"), NONE, "ok", ""),
        "c_fork_child": (added(stub, last, FORK_CHILD, "fork"), NONE, "ok", ""),
        # student code that runs inside the probe, unasked: garbage-collector callbacks, signal handlers
        "a_gc_callback": (added(stub, last, GC_CALLBACK, "async"), NONE, "ok", ""),
        "a_signal_handler": (added(stub, last, SIGNAL_HANDLER, "async"), NONE, "ok", ""),
        # the process's own memory through a path that does not start with /proc/
        **{f"m_proc_mem_{k}": (added(stub, "setup", v, "mem"), NONE, "error", "tampering")
           for k, v in PROC_MEM.items()},
        # numpy strides reach the process's memory without any audit event: they earn nothing by themselves
        "m_strided_read": (added(stub, "setup", "import numpy as np\nbase = np.zeros(1, np.uint8)\n"
                                 "x = 96\nstart = base.__array_interface__['data'][0]\n"
                                 "view = np.lib.stride_tricks.as_strided(base, shape=(32,), strides=(1,))\n"
                                 "offset = id(x) - start\n"
                                 "mem = np.lib.stride_tricks.as_strided(base[:1], shape=(1,), strides=(1,))\n"
                                 "print(offset != 0)", "mem"), NONE, "ok", ""),
    }
    # notebook structure: ids, cell types, metadata and versions the student controls
    claims = added(stub, "setup", "answer_params = 1", "bonus")
    claims.cells[2].metadata.update(lora_course={"grade_id": "toy-params", "points": 100, "kind": "auto",
                                                 "answer": "answer_params"},
                                    nbgrader={"grade": True, "grade_id": "toy-params", "points": 100})
    cases["n_metadata_claims"] = (claims, NONE, "ok", "")
    cases["n_solution_only_id"] = (added(stub, "setup", "answer_params = 96", "secret"), NONE, "ok", "")
    markdown = json.loads(json.dumps(sol))
    markdown["cells"][[c["id"] for c in markdown["cells"]].index("params")]["cell_type"] = "markdown"
    for c in markdown["cells"]:
        if c["cell_type"] == "markdown":
            c.pop("outputs", None)
            c.pop("execution_count", None)
    raw = {"n_markdown_at_code_answer": (markdown, ["3", "0", "", "1"], "ok", "")}
    dup = json.loads(json.dumps(sol))
    late = json.loads(json.dumps(dup["cells"][[c["id"] for c in dup["cells"]].index("params")]))
    dup["cells"].insert(1, dict(late, source="answer_params = 0"))        # an earlier copy of an answer cell's id
    raw["n_duplicate_id_first"] = (dup, ["3", "0", "", "1"], "ok", "")
    numeric = json.loads(json.dumps(sol))
    for k, c in enumerate(numeric["cells"]):
        c["id"] = k
    raw["n_numeric_ids"] = (numeric, NONE, "malformed", "without cell ids")
    raw["n_nbformat_5"] = (dict(json.loads(json.dumps(sol)), nbformat=5), NONE, "malformed", "version-4")
    raw["n_nbformat_minor_99"] = (dict(json.loads(json.dumps(sol)), nbformat_minor=99), FULL, "ok", "")
    subs = tmp / "subs"
    for student, (nb, *_rest) in cases.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / NAME)
    for student, (content, *_rest) in raw.items():       # raw JSON: nbformat.write would repair it
        (subs / student).mkdir(parents=True)
        (subs / student / NAME).write_text(json.dumps(content))
    cases.update(raw)
    odd = subs / "h_odd_files"
    os.mkfifo(odd / "pipe")                                  # a FIFO: never opened, never copied
    with open(odd / "big.bin", "wb") as f:                   # a sparse file over the copy budget
        f.truncate(300 * 1024 * 1024)
    return solutions, subs, {s: tuple(v[1:]) for s, v in cases.items()}


def test_second_round_of_attacks(tmp_path):
    solutions, subs, expected = build(tmp_path)
    out = tmp_path / "grades.csv"
    code = main(["grade", str(subs), "--out", str(out), "--solutions", str(solutions), "--timeout", "10",
                 "--uid-base", str(UID_BASE + 500), "--notebook-timeout", "30", "--memory-mb", "1536", "--jobs", "2",
                 "--no-progress", "--feedback", str(tmp_path / "fb")])
    assert code == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == HEADER
    got = {row[0]: row[1:] for row in rows[1:]}
    wrong = {}
    for student, (scores, status, reason) in expected.items():
        row = got.pop(student)
        if (row[:4] != scores or row[-1].split(":")[0] != status or reason not in row[-1]):
            wrong[student] = row
    assert not wrong, json.dumps(wrong, indent=0)
    assert not got
    odd = (tmp_path / "fb" / "h_odd_files.md").read_text()
    assert "pipe: not a regular file" in odd and "big.bin" in odd, odd

    # students who race their own probe (a signal handler, a gc callback, a child process) get the same row again
    import shutil
    again = tmp_path / "again"
    racers = ("a_gc_callback", "a_signal_handler", "c_fork_child", "h_prun")
    for student in racers:
        shutil.copytree(subs / student, again / student)
    assert main(["grade", str(again), "--out", str(tmp_path / "again.csv"), "--solutions", str(solutions),
                 "--timeout", "10", "--uid-base", str(UID_BASE + 700), "--notebook-timeout", "30",
                 "--memory-mb", "1536", "--jobs", "2", "--no-progress"]) == 0
    first = out.read_text(encoding="utf-8").splitlines(keepends=True)
    want = "".join([first[0], *(line for line in first[1:] if line.split(",")[0] in racers)])
    assert (tmp_path / "again.csv").read_text(encoding="utf-8") == want


def test_nbgrader_autograde_takes_points_from_the_solution_never_from_the_submitted_cell(monkeypatch):
    """A submitted grade cell that claims 0 points (full credit for any score), a grade cell the student added
    (nbgrader's OverwriteCells drops its unknown grade_id) and one naming no item: each gets an error output."""
    from types import SimpleNamespace

    from lora_course.grading import nbgrader_verdicts
    from lora_course.grading.batch import NotebookResult
    from lora_course.grading.items import GradedItem
    from lora_course.grading.verdict import ItemResult

    item = GradedItem("01_toy.ipynb", "toy-params", 2, "auto", "params", target="answer_params")
    wrong = NotebookResult("01_toy.ipynb", results=[ItemResult(item, 0.0, "not yet", "answer_params = 1")])
    monkeypatch.setattr(nbgrader_verdicts, "solutions_folder", lambda: Path("."))
    monkeypatch.setattr(nbgrader_verdicts, "load_plan",
                        lambda *a, **k: SimpleNamespace(items={"01_toy.ipynb": (item,)}))
    monkeypatch.setattr(nbgrader_verdicts, "grade_notebook", lambda *a, **k: wrong)
    nb = nbformat.v4.new_notebook()
    claims = [{"grade": True, "grade_id": "toy-params", "points": 0, "solution": False},
              {"grade": True, "points": 100, "solution": False},
              {"grade": True, "grade_id": "made-up", "points": 100, "solution": False}]
    for k, meta in enumerate(claims):
        c = nbformat.v4.new_code_cell("pass")
        c.id, c.metadata["nbgrader"] = f"claim-{k}", meta
        nb.cells.append(c)
    out, _ = nbgrader_verdicts.LoraVerdicts().preprocess(nb, {"nbgrader": {"notebook": "01_toy", "student": "s"}})
    assert [c.outputs[0]["output_type"] for c in out.cells] == ["error"] * 3
    assert "0 / 2 points" in out.cells[0].outputs[0]["evalue"], "the solution's 2 points, not the cell's 0"


def test_the_probe_encodes_each_answer_alone_and_reads_no_method_of_a_subclass():
    """Unit view of what the batch shows: exact types only, one unreadable value costs only its own item."""
    import numpy as np

    from lora_course.grading.guard import _json, _tools
    from lora_course.grading.probe import decode_value

    class Meta(type):
        @property
        def __name__(cls):
            raise RuntimeError("no name")

    class Odd(metaclass=Meta):
        pass

    class F(np.float64):
        __module__ = "numpy"

        def item(self):
            return 96

    tools = _tools()
    values = {"huge": 10 ** 400, "small": -(10 ** 300), "odd": Odd(), "lie": F(1.0), "ok": np.int64(96),
              "shape": (np.int64(8), 4)}
    text = _json({name: ("__value__", v) for name, v in values.items()}, tools)
    got = json.loads(text, parse_constant={"Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__)
    assert got["huge"] == float("inf") and got["small"] == -1e300 and got["ok"] == 96
    assert got["odd"] == {"__unsupported__": "Odd"} and got["lie"] == {"__unsupported__": "F"}
    assert decode_value(got["shape"]) == (8, 4)


GRADESCOPE = ("l_numpy_item", "a_gc_callback", "h_huge_int", "m_proc_mem_symlink", "c_writes_job")


def test_the_gradescope_entry_gives_the_same_honest_scores(tmp_path):
    """``run_autograder``'s entry on this machine (the cheap path) for the classes that forged or over-penalised,
    with a forged rubric and results file in the submission and results.json planted as a link beforehand."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    solutions, subs, expected = build(tmp_path)
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    roots = {}
    for student in GRADESCOPE:
        root = tmp_path / "trees" / student
        (root / "source" / "solution").mkdir(parents=True)
        (root / "results").mkdir()
        (root / "results" / "results.json").symlink_to(outside)
        (root / "source" / "solution" / NAME).write_bytes((solutions / NAME).read_bytes())
        (root / "source" / "lora_gradescope.json").write_text(json.dumps(
            {"notebook": NAME, "isolation": "auto", "seed": 0, "visibility": "visible", "wall_seconds": 120,
             "limits": {"cell_seconds": 10, "notebook_seconds": 30, "memory_mb": 1536}}))
        (root / "submission").mkdir()
        (root / "submission" / NAME).write_bytes((subs / student / NAME).read_bytes())
        (root / "submission" / "lora_gradescope.json").write_text('{"notebook": "x", "points": 100}')
        (root / "submission" / "results.json").write_text('{"score": 100}')
        roots[student] = root

    def autograde(root: Path) -> dict:
        subprocess.run([sys.executable, "-m", "lora_course.gradescope.autograder", "--root", str(root)],
                       check=True, capture_output=True, timeout=300)
        assert not (root / "results" / "results.json").is_symlink()
        return json.loads((root / "results" / "results.json").read_text())

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(roots, pool.map(autograde, roots.values()), strict=True))
    assert outside.read_text() == "{}", "a planted link is replaced, never written through"
    for student, content in done.items():
        scores, status, reason = expected[student]
        got = {t["extra_data"]["grade_id"]: "" if t["extra_data"]["kind"] == "manual" else f"{t['score']:g}"
               for t in content["tests"]}
        assert got == dict(zip(["toy-scale", "toy-params", "toy-why", "toy-shape"], scores, strict=True)), \
            (student, content["output"])
        assert f"Status: {status}" in content["output"] and reason in content["output"], (student, content["output"])
