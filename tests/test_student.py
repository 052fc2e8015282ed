"""The student-notebook generator: markers, stubs, errors, and notebooks/ kept in sync with solutions/."""

from pathlib import Path

import nbformat
import pytest

from lora_course.authoring.student import MarkerError, generate, same_sources, strip_cell_source, student_version

ROOT = Path(__file__).resolve().parent.parent


def nb_with(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_function_body_becomes_not_implemented_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n    return y\n    ### END SOLUTION\n"
    out = strip_cell_source(src, "code", "t")
    assert out == 'def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError("fill in this part")\n'


def test_top_level_assignments_become_none():
    src = "### BEGIN SOLUTION\nanswer_a = 3 * 4\nanswer_b: float = answer_a / 2\n### END SOLUTION\ncheck(answer_a, KEY)"
    out = strip_cell_source(src, "code", "t")
    assert out == "answer_a = None  # YOUR ANSWER HERE\nanswer_b = None  # YOUR ANSWER HERE\ncheck(answer_a, KEY)"


def test_top_level_code_that_is_not_only_assignments_raises():
    out = strip_cell_source("### BEGIN SOLUTION\nfor i in range(3):\n    x = i\n### END SOLUTION", "code", "t")
    assert "raise NotImplementedError" in out and "range" not in out


def test_markdown_answer_becomes_prompt_and_hidden_tests_vanish():
    md = strip_cell_source("Why?\n### BEGIN SOLUTION\nBecause B = 0.\n### END SOLUTION", "markdown", "t")
    assert md == "Why?\n*Your answer here.*"
    code = strip_cell_source("x = 1\n### BEGIN HIDDEN TESTS\nassert x == 1\n### END HIDDEN TESTS\ny = 2", "code", "t")
    assert code == "x = 1\ny = 2"


@pytest.mark.parametrize(
    ("src", "match"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "does not close no open block"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside an open block from line 1"),
        ("### BEGIN SOLUTION\n### END HIDDEN TESTS", "does not close the block opened at line 1"),
    ],
)
def test_malformed_markers_name_notebook_and_cell(src, match):
    nb = nb_with(nbformat.v4.new_markdown_cell("ok"), nbformat.v4.new_code_cell(src))
    with pytest.raises(MarkerError, match=rf"lesson\.ipynb, cell 1 \(id .*\).*{match}"):
        student_version(nb, "lesson.ipynb")


def test_tags_outputs_and_solution_only_cells():
    raising = nbformat.v4.new_code_cell("f(1)", metadata={"tags": ["student-raises"]})
    raising.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    dropped = nbformat.v4.new_markdown_cell("rubric", metadata={"tags": ["solution-only"]})
    student = student_version(nb_with(raising, dropped), "x.ipynb")
    assert len(student.cells) == 1
    assert student.cells[0].metadata["tags"] == ["raises-exception"]
    assert student.cells[0].outputs == [] and student.cells[0].id == raising.id


def test_generate_keeps_a_backup_of_changed_student_notebooks(tmp_path):
    (tmp_path / "solutions").mkdir()
    sol = nb_with(nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 1\n### END SOLUTION"))
    nbformat.write(sol, tmp_path / "solutions" / "00_x.ipynb")
    generate(tmp_path / "solutions", tmp_path / "notebooks")
    edited = nbformat.read(tmp_path / "notebooks" / "00_x.ipynb", as_version=4)
    edited.cells[0].source = "answer = 42  # my work"
    nbformat.write(edited, tmp_path / "notebooks" / "00_x.ipynb")
    generate(tmp_path / "solutions", tmp_path / "notebooks")
    backups = list((tmp_path / ".lora-course-backup").glob("00_x.*.ipynb"))
    assert len(backups) == 1 and "my work" in backups[0].read_text()


def test_generate_refuses_to_write_anything_when_one_notebook_is_malformed(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb_with(nbformat.v4.new_code_cell("x = 1")), tmp_path / "solutions" / "00_ok.ipynb")
    nbformat.write(nb_with(nbformat.v4.new_code_cell("### BEGIN SOLUTION")), tmp_path / "solutions" / "01_bad.ipynb")
    with pytest.raises(MarkerError, match="01_bad.ipynb"):
        generate(tmp_path / "solutions", tmp_path / "notebooks")
    assert not (tmp_path / "notebooks").exists()


SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_every_solution_has_a_student_version():
    assert SOLUTIONS, "no solution notebooks found"
    students = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert students == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_notebooks_are_what_the_generator_produces(solution):
    expected = student_version(nbformat.read(solution, as_version=4), solution.name)
    committed = nbformat.read(ROOT / "notebooks" / solution.name, as_version=4)
    problems = same_sources(expected, committed)
    assert not problems, f"notebooks/{solution.name} is out of date (run `make notebooks`): {problems}"


@pytest.mark.parametrize("path", SOLUTIONS + sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_are_executed_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code if c.source.strip()), "run `make notebooks`"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    if path.parent.name == "notebooks":
        text = path.read_text()
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text


def test_executed_notebooks_store_one_stream_output_per_run_of_prints():
    from lora_course.cli.student import coalesce_streams

    out = nbformat.v4.new_output
    outputs = [out("stream", name="stdout", text="a\n"), out("stream", name="stdout", text="b"),
               out("stream", name="stderr", text="warn\n"), out("stream", name="stdout", text="c\n")]
    merged = coalesce_streams(outputs)
    assert [(o["name"], o["text"]) for o in merged] == [("stdout", "a\nb"), ("stderr", "warn\n"), ("stdout", "c\n")]
