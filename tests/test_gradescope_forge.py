"""The forge-proof grader's crafted submissions through Gradescope's autograder entry, in every isolation mode.

Each submission is graded the way ``run_autograder`` grades it (``python -I -m lora_course.gradescope.autograder``
with an ``/autograder`` tree: the rubric in ``source/``, one notebook in ``submission/``), inside a bubblewrap
"container" that shows this machine's system folders and this checkout's virtual environment, so the grading child
can drop to a throwaway uid as it does on Gradescope (setup.sh is test_gradescope.py's: not repeated here). Mode
``none`` is what a Gradescope container usually allows; ``user`` and ``bwrap`` are forced by the export's
setting. Two submissions are graded at a time.

- every fixture of tests/forge_fixtures.py, and the hostile toy fixtures of test_grading_hostile.py that
  test_gradescope.py does not already send, in mode ``none``: each gets, item by item, the honest score that
  ``lora-course grade`` gives it (the tables the grader's own tests hold it to), and its status;
- in each mode: the solution (the clean interpreter ran: only it scores the LoRA checks), a submission that
  delegates its LoRA to another program (which could import the reference where no sandbox hides it), and a spy
  that reads the rubric, writes results.json, floods stdout, prints fake results and leaves a daemon that goes
  after the clean interpreter: each keeps its honest score;
- a notebook that kills every process of its uid, or stops the process that started its kernel: in mode ``none``
  (the kernel shares the grading child's uid and PID namespace) one clear failed test, never a missing file,
  never points; in mode ``user`` the kill reaches only bubblewrap's PID namespace and the grading goes on.

Every results.json is validated against the schema and holds no part of the rubric.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import nbformat
import pytest
from fencing import requires_fence
from forge_fixtures import FIXTURES, ITEMS, LORA, NAME, solution, submission
from test_grading_hostile import EXPECTED as HOSTILE_EXPECTED
from test_grading_hostile import NAME as TOY
from test_grading_hostile import build as build_hostile

from lora_course.gradescope import harness
from lora_course.gradescope.results import schema
from lora_course.grading.items import items_from_solution

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
pytestmark = requires_fence

FORGE_LIMITS = {"cell_seconds": 30, "notebook_seconds": 120, "memory_mb": 2048}
TOY_LIMITS = {"cell_seconds": 5, "notebook_seconds": 15, "memory_mb": 1536}
# The hostile toy fixtures whose defence depends on the fence (files, processes, the probe's channel folder, a
# killed kernel, /proc), and the malformed ones (no kernel starts). The others are decided inside the interpreter
# (the probe's own names, hooks, the codec), the same code in every mode: test_grading_hostile grades them, and
# test_gradescope.py sends eight through the full harness.
HOSTILE = ["ad_user_expressions", "ae_channel_planted", "al_ctypes_memory", "am_proc_mem", "bc_hard_link",
           "h_malformed", "i_shuffled", "m_kills_kernel", "n_writes_submission", "q_ipython_hooks", "w_launcher",
           "x_deep_json", "y_no_cell_ids"]

# The LoRA computed by another program: an interpreter without the clean interpreter's finder and audit hook, which
# imports the package's reference wherever no sandbox hides its files (mode none). Honest score: LoRA 0.
DELEGATE = '''
import subprocess, sys
_PROGRAM = """
import sys, pickle
import numpy as np
from lora_course.layer import LoRA
method, args, state = pickle.loads(sys.stdin.buffer.read())
layer = LoRA.__new__(LoRA)
layer.__dict__.update(state)
out = getattr(layer, method)(*args) if method != "__init__" else layer.__init__(*args)
sys.stdout.buffer.write(pickle.dumps((out, layer.__dict__)))
"""


def _call(layer, method, *args):
    import pickle
    done = subprocess.run([sys.executable, "-c", _PROGRAM], input=pickle.dumps((method, args, layer.__dict__)),
                          capture_output=True, check=True)
    out, state = pickle.loads(done.stdout)
    layer.__dict__.update(state)
    return out


class LoRA:
    def __init__(self, d_in: int, d_out: int, r: int, alpha=None, init_scale=0.01, rng=None):
        _call(self, "__init__", d_in, d_out, r, alpha, init_scale, rng)

    def forward(self, x):
        return _call(self, "forward", x)

    def backward(self, grad_output, cache):
        return _call(self, "backward", grad_output, cache)

    def update(self, lr):
        return _call(self, "update", lr)

    def get_merged_delta(self):
        return _call(self, "get_merged_delta")
'''

# Runs in the kernel, after the setup: a daemon in a session of its own that, for two minutes, stops every clean
# interpreter it finds and writes a forged channel line into its stdout, and tries to replace results.json; then
# the rubric read, results.json written, stdout flooded with fake results. Any success lowers or voids the score.
FORGER = r'''
import os, signal, time
end = time.time() + 120
while time.time() < end:
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
        try:
            if b"lora-course clean interpreter" not in open(f"/proc/{pid}/cmdline", "rb").read():
                continue
            os.kill(int(pid), signal.SIGSTOP)
            fd = os.open(f"/proc/{pid}/fd/1", os.O_WRONLY)
            os.write(fd, b'{"seq": 1, "event": "ready"}\n')
        except OSError:
            pass
    try:
        open("/autograder/results/results.json", "w").write('{"score": 1000, "tests": []}')
    except OSError:
        pass
    time.sleep(0.005)
'''
SPY = f'''
import json, os, subprocess, sys
subprocess.Popen([sys.executable, "-c", {FORGER!r}], start_new_session=True)
_reached = []
for _path in ("/autograder/source/lora_gradescope.json", "/autograder/source/solution/{NAME}"):
    try:
        open(_path).read(1)
        _reached.append(_path)
    except OSError:
        pass
for _path in ("/autograder/results/results.json", "/autograder/source/lora_gradescope.json"):
    try:
        open(_path, "w").write('{{"score": 1000, "tests": []}}')
        _reached.append(_path)
    except OSError:
        pass
print(json.dumps({{"score": 1000, "tests": []}}))
_flood = b'{{"score": 1000, "output": "forged"}}\\n' * 30000        # 1 MB a write, 4 MB in all
for _fd in {{1, 2, getattr(sys.stdout, "_original_stdstream_copy", None) or 1}}:    # the kernel's own stdout too
    for _ in range(2):
        os.write(_fd, _flood)
if _reached:
    os._exit(0)                      # the kernel dies: status error, and the test sees it
'''
KILLS = "import os, signal\nos.kill(-1, signal.SIGKILL)\n"           # every process of the kernel's uid
STOPS = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n"  # the process that started the kernel


def extra_submissions() -> dict[str, tuple[nbformat.NotebookNode, list[str], str]]:
    """student -> (notebook, honest points of ITEMS, status)."""
    full, lora_zero = ["2", "2", "3", "1", "1", "2"], ["0", "0", "0", "0", "0", "2"]
    return {"x_solution": (submission({}), full, "ok"),
            "x_delegate": (submission({"lora-task": DELEGATE}), lora_zero, "ok"),
            "x_spy": (submission({}, [("setup", SPY)]), full, "ok")}


# ---------------------------------------------------------------------------------------------- the container

def container_argv(tree: Path, container: str) -> list[str]:
    """harness.sandbox_argv (network off) plus this checkout read-only, then run_autograder's own command line
    with this checkout's interpreter."""
    parents = [a for d in reversed(ROOT.parents) if d != Path("/") for a in ("--perms", "0755", "--dir", str(d))]
    return [*harness.sandbox_argv(tree, container, False, None), *parents, "--ro-bind", str(ROOT), str(ROOT),
            str(PYTHON), "-I", "-m", "lora_course.gradescope.autograder", "--root", "/autograder"]


def autograde(tree: Path, rubric: Path, notebook: nbformat.NotebookNode | bytes, config: dict,
              container: str = "privileged") -> tuple[dict, str]:
    """One submission through run_autograder: (results.json, the autograder's output)."""
    (tree / "source" / "solution").mkdir(parents=True)
    shutil.copy(rubric, tree / "source" / "solution" / rubric.name)
    (tree / "source" / "lora_gradescope.json").write_text(json.dumps({"notebook": rubric.name, **config}))
    (tree / "submission").mkdir()
    (tree / "results").mkdir()
    if isinstance(notebook, bytes):
        (tree / "submission" / rubric.name).write_bytes(notebook)
    else:
        nbformat.write(notebook, tree / "submission" / rubric.name)
    done = subprocess.run(container_argv(tree, container), capture_output=True, timeout=600, check=False)
    log = (done.stdout + done.stderr).decode("utf-8", "replace")
    path = tree / "results" / "results.json"
    assert path.is_file(), f"no results.json (exit {done.returncode}):\n{log[-3000:]}"
    return json.loads(path.read_text(encoding="utf-8")), log


def check_results(content: dict, rubric: Path) -> None:
    """Valid against the schema; no answer key, model answer or check source of the rubric in it."""
    jsonschema.Draft202012Validator(schema()).validate(content)
    text = json.dumps(content, ensure_ascii=False)
    for item in items_from_solution(nbformat.read(rubric, as_version=4), rubric.name):
        assert not item.key or item.key not in text
        assert len(item.model_answer) < 20 or item.model_answer[:80] not in text
    assert '"score": 1000' not in text and "forged" not in text         # what the spy writes and prints


def by_item(content: dict) -> dict[str, str]:
    return {t["extra_data"]["grade_id"]: "" if t["extra_data"]["kind"] == "manual" else f"{t['score']:g}"
            for t in content["tests"] if "extra_data" in t}


def status_of(content: dict) -> str:
    line = next((x for x in content["output"].splitlines() if x.startswith("Status: ")), "Status: none.")
    return line.removeprefix("Status: ").split(" ", 1)[0].rstrip(".:")


def grade_all(work: Path, cases: dict[str, tuple], workers: int = 2) -> dict[str, tuple[dict, str]]:
    """cases: name -> (rubric, notebook, config, container); graded two at a time, each in a tree of its own."""
    def one(name: str) -> tuple[dict, str]:
        rubric, notebook, config, container = cases[name]
        return autograde(work / name.replace("/", "_"), rubric, notebook, config, container)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(cases, pool.map(one, cases), strict=True))


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def rubrics(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("rubrics")
    (tmp / "forge").mkdir()
    nbformat.write(solution(), tmp / "forge" / NAME)
    solutions, subs, _ = build_hostile(tmp / "hostile")
    return {"forge": tmp / "forge" / NAME, "toy": solutions / TOY, "toy_subs": subs}


@pytest.fixture(scope="module")
def graded(rubrics, tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """Everything this file sends, in one pool: 'mode/student' -> (results.json, log)."""
    cases: dict[str, tuple] = {}
    for student, (_, answers, added, *_rest) in FIXTURES.items():
        cases[f"none/{student}"] = (rubrics["forge"], submission(answers, added),
                                    {"isolation": "none", "limits": FORGE_LIMITS}, "privileged")
    for student in HOSTILE:
        folder = rubrics["toy_subs"] / student
        notebook = (folder / TOY).read_bytes() if (folder / TOY).is_file() else b""
        cases[f"none/{student}"] = (rubrics["toy"], notebook, {"isolation": "none", "limits": TOY_LIMITS},
                                    "privileged")
    for mode in ("bwrap", "user", "none"):
        for student, (notebook, _, _) in extra_submissions().items():
            if mode == "none" and student == "x_solution":
                cases["none/x_solution"] = cases["none/h_solution"]       # the same notebook: graded once
                continue
            cases[f"{mode}/{student}"] = (rubrics["forge"], notebook, {"isolation": mode, "limits": FORGE_LIMITS},
                                          "privileged")
    for mode in ("user", "none"):
        cases[f"{mode}/x_kills"] = (rubrics["forge"], submission({}, [("setup", KILLS)]),
                                    {"isolation": mode, "limits": FORGE_LIMITS}, "privileged")
    cases["none/x_stops"] = (rubrics["forge"], submission({}, [("setup", STOPS)]),
                             {"isolation": "none", "limits": FORGE_LIMITS, "wall_seconds": 25}, "privileged")
    done = grade_all(tmp_path_factory.mktemp("trees"), {k: v for k, v in cases.items() if k != "none/x_solution"})
    done["none/x_solution"] = done["none/h_solution"]
    return done


# ---------------------------------------------------------------------------------------------- tests

# In mode none no sandbox hides the package's files, so these fixtures do load layer.py's text (under bwrap their
# reads fail). That text also holds the forward task's reference, compiled at run time, so the grader cannot tell
# the student's forward from it: the forward earns 0 too, as it does everywhere for n_base64_source.
LOADS_LAYER_IN_MODE_NONE = {"n_editable_finder", "n_file_spec", "n_open_source", "n_pathfinder", "n_runpy",
                            "n_sys_path"}


@pytest.mark.parametrize("student", sorted(FIXTURES))
def test_each_forge_fixture_gets_its_honest_score_through_run_autograder(graded, rubrics, student):
    content, log = graded[f"none/{student}"]
    check_results(content, rubrics["forge"])
    kind, _, _, lora, forward, status, _ = FIXTURES[student]
    if student in LOADS_LAYER_IN_MODE_NONE:
        forward = 0
    assert "isolation none" in content["output"], content["output"]
    got = by_item(content)
    assert [got[g] for g in ITEMS] == [f"{p:g}" for p in (*lora, forward)], (student, kind, content["output"])
    if status is not None:
        assert status_of(content) == status, (student, content["output"])


@pytest.mark.parametrize("student", HOSTILE)
def test_each_hostile_toy_fixture_gets_its_honest_score_through_run_autograder(graded, rubrics, student):
    content, _ = graded[f"none/{student}"]
    check_results(content, rubrics["toy"])
    scores, status, _ = HOSTILE_EXPECTED[student]
    items = items_from_solution(nbformat.read(rubrics["toy"], as_version=4), TOY)
    expected = dict(zip(["toy-scale", "toy-params", "toy-why", "toy-shape"], scores, strict=True))
    if status == "malformed":          # not a readable notebook: one failed test, no points
        assert len(content["tests"]) == 1 and content["score"] == 0 and content["tests"][0]["status"] == "failed"
        return
    assert by_item(content) == {i.grade_id: expected[i.grade_id] for i in items}, (student, content["output"])
    assert status_of(content) == status, (student, content["output"])


@pytest.mark.parametrize("mode", ["bwrap", "user", "none"])
@pytest.mark.parametrize("student", sorted(extra_submissions()))
def test_in_every_mode_the_clean_interpreter_runs_without_the_reference(graded, rubrics, mode, student):
    """The solution's LoRA checks pass (only the clean interpreter scores them); a LoRA computed by another
    program, and the spy with its daemon, keep their honest scores in each isolation mode."""
    content, log = graded[f"{mode}/{student}"]
    check_results(content, rubrics["forge"])
    _, points, status = extra_submissions()[student]
    assert f"isolation {mode}" in content["output"], content["output"]
    got = by_item(content)
    assert [got[g] for g in ITEMS] == points, (mode, student, content["output"])
    assert status_of(content) == status, (mode, student, content["output"])
    if student == "x_spy":                 # the kernel's output goes to its log file, not to the grading's
        assert len(log) < 100_000, log[-2000:]


def test_in_mode_user_a_kernel_cannot_reach_its_grading(graded, rubrics):
    """kill(-1) from a kernel in bubblewrap's PID namespace reaches only that namespace (the kernel itself is
    spared by kill's rule): the grading goes on and the solution keeps every point."""
    content, _ = graded["user/x_kills"]
    check_results(content, rubrics["forge"])
    assert content["score"] == 11 and status_of(content) == "ok", content["output"]


@pytest.mark.parametrize("case", ["none/x_kills", "none/x_stops"])
def test_in_mode_none_a_notebook_that_kills_or_stops_its_grading_gets_one_clear_failed_test(graded, rubrics, case):
    content, _ = graded[case]
    check_results(content, rubrics["forge"])
    assert content["score"] == 0 and len(content["tests"]) == 1, content
    test = content["tests"][0]
    assert test["status"] == "failed" and test["max_score"] == 11
    words = "stopped by SIGKILL" if case.endswith("kills") else "wall-clock limit of 25 s"
    assert words in test["output"], test["output"]


def test_the_clean_interpreter_refuses_programs_and_ctypes_only_while_the_student_code_runs():
    """The driver's audit hook: starting a program or a ctypes call is refused (ctypes recorded as a hook first,
    on the channel, as it happens); the hook is installed only after the driver's own setup, before the cells."""
    import json
    import os
    import runpy

    path = ROOT / "lora_course" / "grading" / "clean_driver.py"
    driver = runpy.run_path(str(path), run_name="driver_under_test")
    read, write = os.pipe()
    try:
        hook, _put = driver["recorder"](write, [0])
        for event in driver["NO_PROGRAM"]:
            with pytest.raises(PermissionError, match="starting another program"):
                hook(event, ())
        with pytest.raises(PermissionError, match="ctypes"):
            hook("ctypes.dlopen", ("libc.so.6",))
        os.close(write)
        write = -1
        with os.fdopen(read) as channel:
            read = -1
            records = [json.loads(line) for line in channel]
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    assert records == [{"seq": 1, "event": "record", "kind": "hook", "target": "ctypes.dlopen"}]
    source = path.read_text(encoding="utf-8")
    main = source[source.index("def main()"):]
    assert main.index('frame("ready")') < main.index("sys.addaudithook(") < main.index("for index, statements")
    assert LORA                                           # the fixtures' solution is what the forge table grades
