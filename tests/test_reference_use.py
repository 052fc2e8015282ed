"""The reference cannot stand in for the student's work: static (grader) and dynamic (notebook) detection."""

from __future__ import annotations

import pytest

from lora_course.feedback.project.checks import LAYER, MERGE
from lora_course.feedback.reference_use import dynamic_findings, findings_for, static_findings
from lora_course.grading.items import GradedItem
from lora_course.grading.verdict import ItemResult, refuse_reference_use

REFS = LAYER + MERGE
TASKS = {"LoRA", "adapted_forward", "adapted_backward", "train_task", "merge_network"}
INSTRUCTOR = ("import numpy as np\nimport lora_course\n"
              "from lora_course.lessons.l05_project import FrozenNetwork, hidden\n"
              "from lora_course.feedback.project.checks import run_check\n")

HONEST = '''
import numpy as np
from lora_course.lessons.l05_project import hidden, network_forward
from lora_course.gradcheck import numerical_gradient
class LoRA:
    """My own layer."""
    def __init__(self, k, d, r, alpha=None, init_scale=0.01, rng=None):
        self.r, self.alpha = r, r if alpha is None else alpha
        self.scale = self.alpha / r
        self.A = rng.normal(0.0, init_scale, (r, k))
        self.B = np.zeros((d, r))
    def forward(self, x):
        z = x @ self.A.T
        return self.scale * z @ self.B.T, (x, z)
def adapted_forward(X, net, lora_1, lora_2):
    h1 = hidden(X, net)
    delta1, c1 = lora_1.forward(h1)
    return h1 @ net.W2 + net.b2 + delta1, c1
lora_course.feedback.answers.check(3, "lc1:int:3:ab:cd")
'''

CHEATS = {
    "import": "from lora_course.layer import LoRA",
    "import_as": "from lora_course.layer import LoRA as MyLoRA\nLoRA = MyLoRA",
    "module_alias": "import lora_course.layer as L\nLoRA = L.LoRA",
    "package_attribute": "LoRA = lora_course.layer.LoRA",
    "subclass": "from lora_course import layer\nclass LoRA(layer.LoRA):\n    pass",
    "wrapper": ("class LoRA:\n    def forward(self, x):\n        from lora_course.layer import lora_forward\n"
                "        return lora_forward(x, self.A, self.B, self.scale)"),
    "patched_method": "class LoRA:\n    pass\nimport lora_course.layer as L\nLoRA.forward = L.LoRA.forward",
    "importlib": "import importlib\nLoRA = getattr(importlib.import_module('lora_course.layer'), 'LoRA')",
    "dunder_import": "LoRA = __import__('lora_course.layer', fromlist=['LoRA']).LoRA",
    "sys_modules": "import sys\nLoRA = sys.modules['lora_course.layer'].LoRA",
    "computed_name": "import importlib\nLoRA = importlib.import_module('lora_' + 'course.layer').LoRA",
    "helper": ("from lora_course.layer import lora_forward as f\ndef helper(x, A, B, s):\n    return f(x, A, B, s)\n"
               "class LoRA:\n    def forward(self, x):\n        return helper(x, self.A, self.B, self.scale)"),
    "reexport": "from lora_course.feedback.project.training import ReferenceLoRA as LoRA",
    "star": "from lora_course.layer import *",
}


def _static(source: str, task=("LoRA",)) -> list[str]:
    return findings_for(static_findings([(INSTRUCTOR, False), (source, True)], REFS, TASKS), task)


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_every_way_of_using_the_reference_is_found_statically(name):
    reasons = _static(CHEATS[name])
    assert reasons and all(r.startswith("LoRA:") for r in reasons), reasons


@pytest.mark.parametrize("name", sorted(set(CHEATS) - {"computed_name", "star"}))
def test_and_dynamically_in_the_notebook(name):
    namespace: dict = {}
    exec(INSTRUCTOR, namespace)  # noqa: S102 - test fixtures
    exec(CHEATS[name], namespace)  # noqa: S102
    assert dynamic_findings(namespace, ["LoRA"], REFS), name


def test_honest_code_is_not_flagged():
    assert _static(HONEST) == [] and _static(HONEST, ("adapted_forward",)) == []
    namespace: dict = {}
    exec(INSTRUCTOR + HONEST, namespace)  # noqa: S102
    assert dynamic_findings(namespace, sorted(TASKS), REFS) == []


def test_instructor_cells_are_not_blamed_and_findings_belong_to_their_task():
    instructor_only = static_findings([("from lora_course.layer import LoRA, lora_forward", False)], REFS, TASKS)
    assert instructor_only == []
    source = HONEST + "\ndef merge_network(net, l1, l2):\n    return lora_course.merge.merged_delta(l1.A, l1.B, 1)\n"
    findings = static_findings([(INSTRUCTOR, False), (source, True)], REFS, TASKS)
    assert findings_for(findings, ("LoRA",)) == []
    assert findings_for(findings, ("merge_network",)) == [
        "merge_network: uses lora_course.merge.merged_delta"]


def test_a_reference_lora_does_not_taint_the_students_own_code_that_uses_it():
    source = CHEATS["import"] + "\ndef train_task(X, y, net, l1, l2, head, epochs, lr):\n    return [LoRA]\n"
    findings = static_findings([(INSTRUCTOR, False), (source, True)], REFS, TASKS)
    assert findings_for(findings, ("LoRA",)) and findings_for(findings, ("train_task",)) == []


def test_unparsable_cells_and_magics_are_skipped():
    cells = [("%matplotlib inline\nfrom lora_course.layer import LoRA", True), ("def broken(:", True)]
    assert findings_for(static_findings(cells, REFS, TASKS), ("LoRA",)) == ["LoRA: imports lora_course.layer.LoRA"]


def _item(grade_id: str, target: str, reference: tuple[str, ...]) -> GradedItem:
    return GradedItem("05_project.ipynb", grade_id, 2, "project", grade_id, target=target, reference=reference)


def test_the_grader_zeroes_the_task_with_the_reason():
    from lora_course.feedback.project import checks as project_checks

    items = [_item("05-lora_forward", "lora_forward", LAYER), _item("05-adapted_forward", "adapted_forward", LAYER),
             _item("05-accuracy_task_a", "accuracy_task_a", ())]
    results = [ItemResult(i, 2.0, "passed") for i in items]
    sources = [INSTRUCTOR, CHEATS["subclass"], HONEST.split("class LoRA")[0]]
    origins = ["instructor", "answer", "added"]
    out = refuse_reference_use(results, sources, origins, project_checks)
    assert [r.score for r in out] == [0.0, 2.0, 2.0]
    assert out[0].result == "reference used" and "lora_course.layer.LoRA" in out[0].message
    honest = refuse_reference_use(results, [INSTRUCTOR, HONEST], ["instructor", "answer"], project_checks)
    assert [r.score for r in honest] == [2.0, 2.0, 2.0]


def test_lesson_05_metadata_lists_each_checks_reference():
    """The grader reads ``reference`` from the solution's cells; it names the same objects as the notebook's check."""
    from pathlib import Path

    import nbformat

    from lora_course.feedback.project.checks import CHECKS
    from lora_course.feedback.reference_use import reference_objects
    from lora_course.grading.items import items_from_solution

    path = Path(__file__).resolve().parent.parent / "solutions" / "05_project.ipynb"
    items = [i for i in items_from_solution(nbformat.read(path, as_version=4), path.name) if i.kind == "project"]
    assert {i.target for i in items} == set(CHECKS)
    for item in items:
        assert item.reference == CHECKS[item.target].reference, item.grade_id
        assert len(reference_objects(item.reference)) == len(item.reference), "every reference resolves"
    assert any(i.reference for i in items)
