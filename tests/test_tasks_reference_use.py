"""The package's own implementation cannot stand in for a task of lessons 01-04 and 07: the notebook's check
refuses it."""

from __future__ import annotations

import pytest
from task_helpers import task_functions

from lora_course import dora, gradcheck, layer, lowrank, merge, multi_lora, nf4, pissa
from lora_course.feedback.tasks import lesson01, lesson02, lesson04, lesson07
from lora_course.feedback.tasks.common import evaluate

CASES = [
    # (lesson module, notebook, check, task function, a stand-in built on the reference)
    (lesson01, "01_rank.ipynb", "factor", "factor_rank_r",
     lambda M, r: lowrank.factorize(lowrank.best_rank_r(M, r), r)),
    (lesson02, "02_reparameterization.ipynb", "forward", "lora_layer_forward",
     lambda X, W0, A, B, alpha: layer.linear_lora_forward(X, W0, A, B, layer.scale_factor(A.shape[0], alpha))),
    (lesson02, "02_reparameterization.ipynb", "numerical_gradient", "numerical_gradient", gradcheck.numerical_gradient),
    (lesson04, "04_merging_and_deployment.ipynb", "merge", "merge_weight", None),
    (lesson04, "04_merging_and_deployment.ipynb", "gathered", "gathered_forward", multi_lora.gathered),
    (lesson07, "07_lora_family.ipynb", "dora", "dora_merged_weight", dora.dora_weight),
    (lesson07, "07_lora_family.ipynb", "pissa", "pissa_factors", lambda W0, r, scale: pissa.pissa_init(W0, r, scale)),
    (lesson07, "07_lora_family.ipynb", "nf4_levels", "normal_float_levels", nf4.nf4_levels),
]


@pytest.mark.parametrize("module, notebook, check, name, stand_in", CASES, ids=[c[2] for c in CASES])
def test_a_reference_standing_in_for_a_task_fails_its_check(module, notebook, check, name, stand_in):
    namespace = task_functions(notebook)
    honest = evaluate(module.CHECKS, module.make_inputs, check, namespace)
    assert honest.passed, honest
    if stand_in is None:                                   # the reference itself, imported under the task's name
        namespace[name] = merge.merge
    else:                                                  # a wrapper whose body calls the reference
        namespace[name] = stand_in
    refused = evaluate(module.CHECKS, module.make_inputs, check, namespace)
    assert not refused.passed and "package's own implementation" in refused.message, refused
