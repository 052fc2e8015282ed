"""The grader's parts without kernels: items, assembly by cell id, the probe's data format, verdicts, reports."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lora_course.feedback.answers import make_key
from lora_course.grading.assemble import MalformedSubmission, assemble, read_submission
from lora_course.grading.batch import NotebookResult, Plan, StudentResult, _status_from_run, student_seed
from lora_course.grading.execution import Execution
from lora_course.grading.items import GradedItem, ItemError, answer_cell_ids, items_from_solution
from lora_course.grading.probe import (
    answers_probe,
    as_expression,
    decode_value,
    encode_value,
    project_probe,
    read_payload,
    verify,
)
from lora_course.grading.report import csv_rows, feedback_markdown, safe_filename
from lora_course.grading.sandbox import Limits, Sandbox, allowed_readonly, launch_spec
from lora_course.grading.verdict import judge_auto, judge_project

KEY = make_key(96, "int", 3, salt="feedbeef")


def code(src: str, cid: str, meta: dict | None = None, tags: list[str] | None = None):
    cell = nbformat.v4.new_code_cell(src, metadata={"lora_course": meta} if meta else {})
    if tags:
        cell.metadata["tags"] = tags
    cell.id = cid
    return cell


def md(src: str, cid: str, meta: dict | None = None):
    cell = nbformat.v4.new_markdown_cell(src, metadata={"lora_course": meta} if meta else {})
    cell.id = cid
    return cell


def solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        code("from lora_course import check", "setup"),
        code("### BEGIN SOLUTION\nanswer_params = 4 * (16 + 8)\n### END SOLUTION\n"
             f"check(answer_params, {KEY!r}, hint='r (d + k)', name='params')", "ans",
             {"grade_id": "t-params", "points": 2, "kind": "auto", "answer": "answer_params"}),
        code("answer_params = 96", "secret", tags=["solution-only"]),
        md("Why?\n### BEGIN SOLUTION\nBecause B = 0.\n### END SOLUTION", "why",
           {"grade_id": "t-why", "points": 3, "kind": "manual"}),
        code("print('check')", "tail"),
        code("run_check('lora_init', globals())", "proj", {"grade_id": "t-init", "points": 1, "kind": "project",
                                                          "check": "lora_init"}),
    ]
    return nb


def submission(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


# ----------------------------------------------------------------------------------------------- items

def test_items_read_points_kind_key_and_hint_from_metadata():
    items = items_from_solution(solution(), "01_t.ipynb")
    assert [(i.grade_id, i.kind, i.points) for i in items] == [("t-params", "auto", 2), ("t-why", "manual", 3),
                                                              ("t-init", "project", 1)]
    assert items[0].key == KEY and items[0].hint == "r (d + k)" and items[0].target == "answer_params"
    assert items[1].model_answer == "Because B = 0." and items[2].target == "lora_init"
    assert answer_cell_ids(solution()) == {"ans": "code", "why": "markdown"}


@pytest.mark.parametrize(("change", "match"), [
    ({"kind": "bonus"}, "kind: expected one of"),
    ({"points": -1}, "points: expected a number >= 0, got -1"),
    ({"answer": "not_called"}, "expected a call check\\(not_called"),
])
def test_bad_metadata_is_reported_with_the_cell(change, match):
    nb = solution()
    nb.cells[1].metadata["lora_course"].update(change)
    with pytest.raises(ItemError, match=rf"01_t.ipynb, cell 1 \(id ans\): {match}"):
        items_from_solution(nb, "01_t.ipynb")


def test_a_duplicated_grade_id_is_an_error():
    nb = solution()
    nb.cells[3].metadata["lora_course"]["grade_id"] = "t-params"
    with pytest.raises(ItemError, match="used twice"):
        items_from_solution(nb, "x")


# -------------------------------------------------------------------------------------------- assemble

def test_instructor_cells_win_and_answer_cells_come_from_the_submission_by_id():
    sub = submission(
        code("print('edited check')", "tail"),                           # edited instructor cell: ignored
        code("answer_params = 1", "ans"),                                # the answer, moved first
        code("answer_params = 2", "ans"),                                # duplicated id: first copy counts
        md("Because the product starts at zero.", "why"),
        code("helper = 3", "new1"),                                      # added: runs after the cell above it
    )
    out = assemble(solution(), sub, "t")
    assert out.sources == ["from lora_course import check", "answer_params = 1", "helper = 3", "print('check')",
                           "run_check('lora_init', globals())"]
    assert out.origins == ["instructor", "answer", "added", "instructor", "instructor"]
    assert out.markdown_answers == {"why": "Because the product starts at zero."}
    assert not any("96" in s for s in out.sources), "solution-only cells never run"


def test_deleted_answer_cells_are_left_out_and_noted():
    out = assemble(solution(), submission(code("x = 1", "setup")), "t")
    assert "answer_params" not in "".join(out.sources)
    assert out.markdown_answers == {} and any("ans" in n for n in out.notes) and any("why" in n for n in out.notes)


@pytest.mark.parametrize(("content", "match"), [
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"cells": {}, "nbformat": 4}', "version-4 notebook"),
    (b'{"cells": [{"cell_type": "weird", "source": ""}], "nbformat": 4}', "cell 0 is not"),
    (b'{"cells": [{"cell_type": "code", "source": 3}], "nbformat": 4}', "source that is not text"),
])
def test_malformed_submissions_are_rejected_with_a_reason(tmp_path, content, match):
    path = tmp_path / "01_t.ipynb"
    path.write_bytes(content)
    with pytest.raises(MalformedSubmission, match=match):
        read_submission(path)


def test_a_symlinked_submission_is_refused(tmp_path):
    target = tmp_path / "real.ipynb"
    nbformat.write(solution(), target)
    (tmp_path / "01_t.ipynb").symlink_to(target)
    with pytest.raises(MalformedSubmission, match="symlink"):
        read_submission(tmp_path / "01_t.ipynb")


def test_a_list_source_and_a_missing_id_are_accepted(tmp_path):
    path = tmp_path / "01_t.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {},
                                "cells": [{"cell_type": "code", "source": ["a = 1\n", "b = 2"]},
                                          {"cell_type": "code", "source": "c = 3", "id": "c"}]}))
    nb = read_submission(path)
    assert nb.cells[0].source == "a = 1\nb = 2" and nb.cells[0].id == "no-id-0"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {},
                                "cells": [{"cell_type": "code", "source": "a = 1"}]}))
    with pytest.raises(MalformedSubmission, match="without cell ids"):
        read_submission(path)


# ----------------------------------------------------------------------------------------------- probe

@given(st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                 st.text(max_size=50)))
def test_plain_values_survive_the_json_round_trip(value):
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == value


@settings(max_examples=30)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20), st.sampled_from(["f8", "f4", "i8"]))
def test_arrays_survive_as_npy_without_pickle(values, dtype):
    arr = np.array(values).astype(dtype)
    back = decode_value(json.loads(json.dumps(encode_value(arr))))
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


def test_zero_dimensional_arrays_keep_their_shape():
    assert decode_value(encode_value(np.array(2.5))).shape == ()


def test_object_arrays_and_pickles_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import base64
    with pytest.raises(ValueError):
        decode_value({"__ndarray__": base64.b64encode(buf.getvalue()).decode()})
    with pytest.raises(ValueError, match="cannot read"):
        decode_value({"__unsupported__": "function"})
    with pytest.raises(ValueError, match="unexpected value"):
        decode_value({"__class__": "os.system"})
    with pytest.raises(TypeError, match="inputs: expected"):
        encode_value(object())


def stdout(text: str) -> list[dict]:
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def test_a_probe_answer_must_be_one_json_object_without_hooks():
    assert read_payload(b'[]\n' + json.dumps({"part": "answers", "values": {"x": 1}}).encode())["values"] == {"x": 1}
    with pytest.raises(ValueError, match="wrote nothing"):
        read_payload(None)
    with pytest.raises(ValueError, match="not valid JSON"):
        read_payload(b"[]\n" + b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="tampering: .*builtins.print"):
        read_payload(b'["builtins.print"]\n' + json.dumps({"part": "answers", "values": {}}).encode())
    with pytest.raises(ValueError, match="not valid JSON"):          # the runner's own first line is required
        read_payload(json.dumps({"part": "answers", "values": {"x": 1}, "hooks": []}).encode())


def test_a_failed_probe_is_failed_even_when_its_channel_file_exists():
    good = b'[]\n' + json.dumps({"part": "answers", "values": {"x": 96}}).encode()
    with pytest.raises(ValueError, match="the probe failed .FileExistsError"):
        read_payload(good, "FileExistsError: [Errno 17] File exists")


def test_the_probe_expression_looks_up_no_name():
    import dis

    code = compile(as_expression(answers_probe("ef" * 16, ["answer_a"], "/chan")), "probe", "eval")
    ops = {i.opname for i in dis.get_instructions(code)}
    assert not {"LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_DEREF"} & ops, ops
    assert code.co_names == ("encode",)


def test_probes_compile_and_carry_no_answer():
    nonce = "ef" * 16
    compile(answers_probe(nonce, ["answer_a", "answer_b"], "/chan"), "probe", "exec")
    source = project_probe(nonce, "lora_init", "CHECKS = {}\n", "lora_course", {"X": np.ones((2, 2)), "r": 4}, "/c")
    compile(source, "probe", "exec")
    compile(as_expression(source), "probe", "eval")
    assert source.startswith(f"# CHANNEL /c/{nonce}\n") and "lc1:" not in source


def run_probe(source: str, namespace: dict, tmp_path: Path) -> dict:
    from lora_course.grading.guard import probe_runner

    runner, key = probe_runner()
    source = source.replace("CHANNEL_DIR", str(tmp_path))
    runner(source, namespace=dict(namespace))
    return read_payload(verify(next(tmp_path.iterdir()).read_bytes(), source, key))


def test_only_what_the_runner_sealed_for_this_source_is_read(tmp_path):
    from lora_course.grading.guard import probe_runner

    runner, key = probe_runner()
    source = answers_probe("78" * 16, ["x"], str(tmp_path))
    runner(source, namespace={"x": 1})
    data = (tmp_path / ("78" * 16)).read_bytes()
    assert read_payload(verify(data, source, key))["values"] == {"x": 1}
    forged = data.replace(b'"x": 1', b'"x": 96')
    assert verify(forged, source, key) is None, "a rewritten answer"
    assert verify(data, source + "\n", key) is None, "the answer of another probe"
    assert verify(data.partition(b"\n")[2], source, key) is None, "an answer without its seal"


def test_the_answers_probe_hands_back_values_it_can_read(tmp_path):
    class Lying(str):
        def __eq__(self, other):
            raise AssertionError("student code ran inside the probe")
        __hash__ = str.__hash__

    namespace = {"answer_a": 3, "answer_b": (8, 4), "answer_c": lambda: 1, "answer_e": np.arange(6.0).reshape(2, 3),
                 "answer_f": np.float32(0.5), "exec": print, "globals": dict, Lying("answer_g"): 1}
    names = ["answer_a", "answer_b", "answer_c", "answer_d", "answer_e", "answer_f", "answer_g"]
    payload = run_probe(answers_probe("12" * 16, names, "CHANNEL_DIR"), namespace, tmp_path)["values"]
    assert decode_value(payload["answer_a"]) == 3 and decode_value(payload["answer_b"]) == (8, 4)
    assert payload["answer_c"] == {"__unsupported__": "function"} and payload["answer_d"] == {"__missing__": True}
    assert decode_value(payload["answer_e"]).tolist() == [[0, 1, 2], [3, 4, 5]] and payload["answer_f"] == 0.5
    assert payload["answer_g"] == {"__missing__": True}, "a key that is not an exact str is not an answer"


def test_the_probe_reports_hooked_tools_and_writes_only_once(tmp_path):
    import builtins
    import json as json_module

    from lora_course.grading.guard import probe_runner

    runner, key = probe_runner()                  # the builtins and library functions of "before the notebook"
    original, dumps = builtins.print, json_module.dumps
    builtins.print = lambda *a, **k: original(*a, **k)
    json_module.dumps = eval(compile("lambda *a, **k: '{}'", json_module.__file__, "eval"))  # noqa: S307
    try:
        runner(answers_probe("34" * 16, ["x"], str(tmp_path)), namespace={"x": 1})
    finally:
        builtins.print, json_module.dumps = original, dumps
    with pytest.raises(ValueError, match="tampering: .*builtins.print.*json.dumps"):
        read_payload((tmp_path / ("34" * 16)).read_bytes().partition(b"\n")[2])
    (tmp_path / ("56" * 16)).write_text("planted")
    with pytest.raises(FileExistsError):          # O_EXCL: a file planted at the channel is never the answer
        runner(answers_probe("56" * 16, ["x"], str(tmp_path)), namespace={"x": 1})


# --------------------------------------------------------------------------------------------- verdict

def item(kind: str = "auto", **kw) -> GradedItem:
    base = {"notebook": "01_t.ipynb", "grade_id": f"t-{kind}", "points": 2, "kind": kind, "cell_id": "c",
            "target": "answer_params", "key": KEY, "hint": "r (d + k)"}
    return GradedItem(**{**base, **kw})


@pytest.mark.parametrize(("sent", "score", "result"), [
    (96, 2.0, "correct"), ("96", 2.0, "correct"), (95, 0.0, "not yet"), (None, 0.0, "not answered"),
    ({"__missing__": True}, 0.0, "not answered"), ({"__unsupported__": "MagicNumber"}, 0.0, "invalid"),
    ("ninety-six", 0.0, "invalid"),
])
def test_auto_items_are_judged_here_with_the_solution_key(sent, score, result):
    out = judge_auto(item(), {"answer_params": sent})
    assert (out.score, out.result) == (score, result)
    assert out.hint == ("" if score else "r (d + k)")


def test_no_data_means_no_points():
    assert judge_auto(item(), None).score == 0
    assert judge_project(item("project", target="lora_init"), None, {}, None).score == 0


def test_project_items_are_judged_by_the_checks_module_on_the_graders_inputs():
    from lora_course.feedback.project import checks as project_checks
    from lora_course.layer import LoRA

    inputs = project_checks.make_inputs(7)
    ref = project_checks.CHECKS["lora_forward"].collect({"LoRA": LoRA}, inputs)
    sent = {"data": {k: encode_value(v) for k, v in ref.items()}}
    it = item("project", target="lora_forward")
    assert judge_project(it, json.loads(json.dumps(sent)), inputs, project_checks).score == 2
    wrong = {"data": {k: encode_value(2 * v) for k, v in ref.items()}}
    out = judge_project(it, wrong, inputs, project_checks)
    assert out.score == 0 and out.result == "failed" and out.message
    assert judge_project(it, {"error": "not implemented yet"}, inputs, project_checks).score == 0
    assert judge_project(it, {"data": {"delta": {"__unsupported__": "x"}}}, inputs, project_checks).score == 0


# ---------------------------------------------------------------------------------------------- report

def plan_for(items: list[GradedItem]) -> Plan:
    return Plan({"01_t.ipynb": {}}, {"01_t.ipynb": tuple(items)}, Sandbox(isolation="none"), "/nonexistent")


def test_csv_has_one_row_per_student_sorted_and_manual_scores_empty():
    from lora_course.grading.verdict import ItemResult

    auto, manual = item(), item("manual", grade_id="t-why", points=3)
    plan = plan_for([auto, manual])
    bob = StudentResult("bob", [NotebookResult("01_t.ipynb", "timeout", ["cell 2 ran too long"],
                                               [ItemResult(auto, 2.0, "correct"), ItemResult(manual, None, "")])])
    amy = StudentResult("=amy", [NotebookResult("01_t.ipynb", results=[ItemResult(auto, 0.0, "not yet"),
                                                                        ItemResult(manual, None, "")])])
    rows = csv_rows([bob, amy], plan)
    assert rows == [["student", "t-auto", "t-why", "total", "max", "status"],
                    ["'=amy", "0", "", "0", "5", "ok"],
                    ["bob", "2", "", "2", "5", "timeout: 01_t.ipynb: cell 2 ran too long"]]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    assert list(csv.reader(io.StringIO(text.getvalue()))) == rows


def test_feedback_shows_hints_and_free_text_next_to_the_model_answer():
    from lora_course.grading.verdict import ItemResult

    auto, manual = item(), item("manual", grade_id="t-why", points=3, cell_id="why", model_answer="Because B = 0.")
    nb = NotebookResult("01_t.ipynb", results=[ItemResult(auto, 0.0, "not yet", "answer_params = 95", "r (d + k)"),
                                               ItemResult(manual, None, "to grade by hand")],
                        markdown_answers={"why": "B starts at zero"})
    text = feedback_markdown(StudentResult("bob", [nb]), plan_for([auto, manual]))
    assert "| t-auto | 0 / 2 | not yet | answer_params = 95 | r (d + k) |" in text
    assert "> B starts at zero" in text and "> Because B = 0." in text


def test_feedback_file_names_stay_in_their_folder():
    assert safe_filename("alice") == "alice" and safe_filename("") .startswith("student-")
    assert safe_filename("../../etc/passwd").startswith("_.._etc_passwd-") and "/" not in safe_filename("../x")
    assert safe_filename("李雷") != safe_filename("韩梅"), "names that differ only in script get their own files"
    assert safe_filename(".hidden") != safe_filename("hidden") and safe_filename("..dotdot") != "dotdot"


# --------------------------------------------------------------------------------------------- sandbox

def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="cell_seconds: expected a number > 0, got 0"):
        Limits(cell_seconds=0)


def test_the_sandbox_sees_only_the_allow_list(tmp_path):
    from lora_course.grading.sandbox import Tree

    sandbox = Sandbox(isolation="bwrap", uid=70000)
    ro = allowed_readonly(sandbox)
    course = Path(__file__).resolve().parent.parent
    assert "/usr" in ro and str(course / "lora_course") in ro and str(Path(sys.prefix).resolve()) in ro
    assert not any(p in ro for p in (str(course), str(course / "solutions"), "/", "/etc", "/home", "/root"))
    spec = launch_spec(sandbox, "/j/run/connection.json", Path("/j/run"), Path("/j/run/work"),
                       Tree("t", sandbox.limits, use_cgroups=False))
    assert spec["uid"] == 70000 and spec["rw"] == ["/j/run"] and spec["rlimits"]["RLIMIT_AS"] == 2048 * 1024 * 1024
    assert spec["command"][1:4] == ["-I", "-m", "lora_course.grading.guard"], \
        "-I: a planted ipykernel_launcher.py never runs; the guard starts first"
    assert set(spec["env"]) >= {"HOME", "PATH"} and not [k for k in spec["env"] if "TOKEN" in k]
    from lora_course.grading.launch import bwrap_argv
    argv = bwrap_argv(spec, {p: p for p in [*spec["ro"], *spec["rw"]]})
    assert {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--clearenv"} <= set(argv)
    assert argv.index("--tmpfs") < argv.index("--bind"), "binds go over the private /tmp, not under it"


def test_the_inputs_seed_follows_the_code_that_runs_and_nothing_else():
    """The same code gives the same seed wherever it is graded (a regrade, nbgrader, Gradescope: the file's bytes and
    the student's name do not enter); another base seed, any changed character or another order of the cells gives
    another, from 2^60 (a table pasted for a guessed seed changes the seed it was made for)."""
    code = ["import numpy as np", "def f(x):\n    return 2 * x", "f(3)"]
    assert student_seed(0, code) == student_seed(0, list(code)) != student_seed(1, code)
    assert student_seed(0, code) != student_seed(0, [*code[:2], "f(3) "]) != student_seed(0, code[::-1])
    assert student_seed(0, code) != student_seed(0, ["\n".join(code)])
    seeds = [student_seed(0, [*code, " " * k]) for k in range(200)]
    assert len(set(seeds)) == 200 and max(seeds) > 2 ** 56 and all(0 <= s < 2 ** 60 for s in seeds)


def test_any_checks_module_goes_through_the_project_probe(tmp_path):
    source = ("class Double:\n    def collect(self, ns, inputs):\n        return {'y': ns['f'](inputs['x'])}\n"
              "CHECKS = {'double': Double()}\n")
    from lora_course.grading.guard import probe_runner

    probe = project_probe("ab" * 16, "double", source, "lora_course", {"x": np.arange(3.0)}, str(tmp_path))
    runner, key = probe_runner()
    runner(probe, namespace={"f": lambda x: 2 * x})
    payload = read_payload(verify((tmp_path / ("ab" * 16)).read_bytes(), probe, key))
    assert payload["check"] == "double" and decode_value(payload["data"]["y"]).tolist() == [0.0, 2.0, 4.0]


@pytest.mark.parametrize("run, status, first", [
    (Execution(outputs=[[]], timed_out_cells=[0], memory_limit=True), "error", "the kernel's processes hit"),
    (Execution(outputs=[[{"ename": "MemoryError"}]]), "error", "cell(s) 1 hit the memory limit"),
    (Execution(outputs=[[]], notebook_timeout=True, memory_limit=True), "error", "the kernel's processes hit"),
    (Execution(outputs=[[]], stalled=True, memory_limit=True), "error", "the kernel's processes hit"),
    (Execution(outputs=[[]], died="the kernel died", memory_limit=True), "error", "the kernel died: the kernel's"),
    (Execution(outputs=[[]], timed_out_cells=[0]), "timeout", "cell(s) 1 ran past"),
    (Execution(outputs=[[]], stalled=True), "timeout", "the kernel used no CPU"),
    (Execution(outputs=[[]]), "ok", None),
])
def test_hitting_the_memory_limit_names_the_status_even_with_a_timeout(run, status, first):
    got, reasons = _status_from_run(run)
    assert got == status, (got, reasons)
    assert (reasons[0].startswith(first) if first else reasons == []), reasons
    if run.memory_limit:      # the memory is the whole story: whether a timeout came with it depends on load
        assert len(reasons) == 1 and "memory limit" in reasons[0], reasons


# --------------------------------------------------------------------------------------------- the kernel's guard

GUARDED = {   # what student code does after guard.install() -> whether the guard stops the process
    "sys.addaudithook(lambda e, a: None)": True,
    "sys.settrace(lambda *a: None)": True,
    "sys.setprofile(lambda *a: None)": True,
    "import threading; threading.settrace(lambda *a: None); threading.Thread(target=len, args=[()]).start()": True,
    "import gc; gc.get_objects()": True,
    "import gc; gc.get_referrers(sys)": True,
    "sys._current_frames()": True,
    "def f(): pass\nf.__code__ = (lambda: 1).__code__": True,
    "import ctypes; ctypes.c_long.from_address(id(1))": True,
    "import ctypes; ctypes.string_at(id(1), 8)": True,
    "import ctypes; ctypes.pythonapi.PyGILState_Ensure": True,
    "open('/proc/self/mem', 'rb')": True,
    "import os; os.open(b'/proc/%d/mem' % os.getpid(), os.O_RDONLY)": True,
    "import codecs; info = codecs.lookup('lora_course_probe_x'); info.encode.__defaults__ = (1,) * 12": True,
    # honest code: files, numpy, matplotlib (pybind11 types set attributes while they are built), threads,
    # fork, a libc call through ctypes, frames, audit events of its own
    "import numpy, pathlib, tempfile, threading, os, matplotlib\nmatplotlib.use('Agg')\n"
    "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
    "p = pathlib.Path(tempfile.mkdtemp()) / 'x'; p.write_text('1'); open(p).read()\n"
    "threading.Thread(target=len, args=[()]).start(); numpy.linalg.svd(numpy.ones((3, 3)))\n"
    "pid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0)\n"
    "import ctypes; ctypes.CDLL(None).getpid(); sys._getframe(0).f_locals; sys.audit('my.event', 1)": False,
}


@pytest.mark.parametrize("code", list(GUARDED))
def test_the_guard_stops_the_kernel_on_hooks_and_raw_memory(code):
    import subprocess

    from lora_course.grading.guard import TAMPER_EXIT

    done = subprocess.run([sys.executable, "-I", "-c", "import sys\nfrom lora_course.grading import guard\n"
                           f"guard.install()\n{code}\nprint('survived')"], capture_output=True, text=True,
                          timeout=60)
    if GUARDED[code]:
        assert done.returncode == TAMPER_EXIT and "tampering: audit event" in done.stderr, (done.returncode,
                                                                                            done.stderr[-500:])
    else:
        assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]


def test_the_probe_codec_is_answered_by_the_guard_before_any_other_search_function():
    import subprocess

    code = ("import codecs, encodings, sys, tempfile, os\nfrom lora_course.grading import guard, probe\n"
            "guard.install()\n"
            "codecs.register(lambda name: 1 / 0)\n"                              # a later search function
            "encodings._cache['lora_course_probe_run'] = codecs.lookup('latin-1')\n"   # the stdlib's own cache
            "answer = 96\nexec = globals = print\n"
            "d = tempfile.mkdtemp()\n"
            "eval(probe.as_expression(probe.answers_probe('ab' * 16, ['answer'], d)))\n"
            "sys.stdout.write(open(os.path.join(d, 'ab' * 16)).read())")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_payload(done.stdout.encode().partition(b"\n")[2])["values"] == {"answer": 96}


def test_job_folders_copy_regular_files_only(tmp_path):
    import os

    from lora_course.grading.sandbox import copy_submission

    src, work = tmp_path / "sub", tmp_path / "work"
    src.mkdir()
    work.mkdir()
    (src / "data.txt").write_text("mine")
    secret = tmp_path / "secret"
    secret.write_text("not yours")
    os.link(secret, src / "linked.txt")                # a hard link: st_nlink 2
    (src / "sym.txt").symlink_to(secret)
    os.mkfifo(src / "pipe")
    warnings = copy_submission(src, work)
    assert sorted(p.name for p in work.iterdir()) == ["data.txt"]
    assert any("linked.txt: a hard link" in w for w in warnings) and any("pipe: not a regular file" in w
                                                                           for w in warnings)
    assert any("sym.txt: a symbolic link" in w for w in warnings)


def test_the_wall_clock_backstop_is_a_small_multiple_of_the_cpu_limit():
    lim = Limits()
    assert lim.wall(lim.notebook_seconds) <= 600 and lim.wall(lim.cell_seconds) <= 3 * lim.cell_seconds
    assert Limits(notebook_seconds=1200).wall(1200) == 1200, "never below the CPU limit itself"
    assert Limits(cell_seconds=5).wall(5) == 20


@pytest.mark.parametrize("run, reason", [
    (Execution(outputs=[[]], tampered=True, died="the kernel died", memory_limit=True), "tampering"),
    (Execution(outputs=[[]], disk_full=True, timed_out_cells=[0]), "disk"),
])
def test_tampering_and_a_full_disk_are_errors_of_their_own(run, reason):
    status, reasons = _status_from_run(run)
    assert status == "error" and len(reasons) == 1 and reasons[0].startswith(reason), reasons


def test_the_similarity_signal_keeps_the_tokens_of_short_sources_only():
    """Each reference is tokenised once per grader process; a long submitted source (a cell may hold 20 MB) is not
    kept, so a batch of such submissions holds no more memory than one."""
    from lora_course.grading import similarity as S

    S._kept_tokens.cache_clear()
    long = "x = 1\n" * (S.CACHED_CHARS // 6 + 1)
    assert len(S.tokens(long)) == S.MAX_TOKENS and S._kept_tokens.cache_info().currsize == 0
    assert S.similarity("def f(x):\n    return x @ W\n", "def g(y):\n    return y @ W\n") == 1.0
    assert S.similarity("def f(x):\n    return x @ W\n", "def g(y):\n    return y @ W\n") == 1.0
    assert S._kept_tokens.cache_info().currsize == 2 and S._kept_tokens.cache_info().hits == 2
