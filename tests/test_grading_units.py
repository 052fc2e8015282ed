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
    assert read_payload(json.dumps({"part": "answers", "values": {"x": 1}, "hooks": []}).encode())["values"] == {"x": 1}
    with pytest.raises(ValueError, match="wrote nothing .ImportError"):
        read_payload(None, "ImportError: json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_payload(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="tampering: .*builtins.print"):
        read_payload(json.dumps({"part": "answers", "values": {}, "hooks": ["builtins.print"]}).encode())


def test_probes_compile_and_carry_no_answer():
    nonce = "ef" * 16
    compile(answers_probe(nonce, ["answer_a", "answer_b"], "/chan"), "probe", "exec")
    source = project_probe(nonce, "lora_init", "CHECKS = {}\n", "lora_course", {"X": np.ones((2, 2)), "r": 4}, "/c")
    compile(source, "probe", "exec")
    compile(as_expression(source), "probe", "eval")
    assert f"/c/{nonce}" in source and "lc1:" not in source


def run_probe(source: str, namespace: dict, tmp_path: Path) -> dict:
    exec(as_expression(source.replace("CHANNEL_DIR", str(tmp_path))), dict(namespace))
    return read_payload(next(tmp_path.iterdir()).read_bytes())


def test_the_answers_probe_hands_back_values_it_can_read(tmp_path):
    namespace = {"answer_a": 3, "answer_b": (8, 4), "answer_c": lambda: 1}
    payload = run_probe(answers_probe("12" * 16, ["answer_a", "answer_b", "answer_c", "answer_d"], "CHANNEL_DIR"),
                        namespace, tmp_path)["values"]
    assert decode_value(payload["answer_a"]) == 3 and decode_value(payload["answer_b"]) == (8, 4)
    assert payload["answer_c"] == {"__unsupported__": "function"} and payload["answer_d"] == {"__missing__": True}


def test_the_probe_reports_hooked_tools_and_writes_only_once(tmp_path):
    import builtins

    original = builtins.print
    builtins.print = lambda *a, **k: original(*a, **k)
    try:
        with pytest.raises(ValueError, match="tampering: .*builtins.print"):
            run_probe(answers_probe("34" * 16, ["x"], "CHANNEL_DIR"), {"x": 1}, tmp_path)
    finally:
        builtins.print = original
    (tmp_path / ("56" * 16)).write_text("planted")
    with pytest.raises(FileExistsError):          # O_EXCL: a file planted at the channel is never the answer
        exec(as_expression(answers_probe("56" * 16, ["x"], str(tmp_path))), {"x": 1})


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
    assert spec["command"][1:4] == ["-I", "-m", "ipykernel_launcher"], "-I: a planted ipykernel_launcher.py never runs"
    assert set(spec["env"]) >= {"HOME", "PATH"} and not [k for k in spec["env"] if "TOKEN" in k]
    from lora_course.grading.launch import bwrap_argv
    argv = bwrap_argv(spec, {p: p for p in [*spec["ro"], *spec["rw"]]})
    assert {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--clearenv"} <= set(argv)
    assert argv.index("--tmpfs") < argv.index("--bind"), "binds go over the private /tmp, not under it"


def test_student_seeds_are_stable_and_differ_between_students():
    assert student_seed(0, "alice") == student_seed(0, "alice") != student_seed(0, "bob")
    assert student_seed(1, "alice") != student_seed(0, "alice")


def test_any_checks_module_goes_through_the_project_probe(tmp_path):
    source = ("class Double:\n    def collect(self, ns, inputs):\n        return {'y': ns['f'](inputs['x'])}\n"
              "CHECKS = {'double': Double()}\n")
    probe = project_probe("ab" * 16, "double", source, "lora_course", {"x": np.arange(3.0)}, str(tmp_path))
    exec(as_expression(probe), {"f": lambda x: 2 * x})
    payload = read_payload((tmp_path / ("ab" * 16)).read_bytes())
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
