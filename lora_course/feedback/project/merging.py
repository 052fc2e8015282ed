"""Judge of the merge: the merged network, rebuilt here from the returned arrays, equals the adapted one."""

from __future__ import annotations

import numpy as np

from lora_course.feedback.project.common import Outcome, array, fail, frozen_arrays, given, network, ref_forward
from lora_course.lessons.l05_project import D_MODEL, FrozenNetwork, network_forward
from lora_course.merge import merged_delta


def judge_merge(data: dict, inputs: dict) -> Outcome:
    X, net, params = np.asarray(inputs["X_net"], float), network(inputs), given(inputs)
    for name, want in frozen_arrays(net).items():
        if array(data, f"net_{name}").tobytes() != want.tobytes():
            fail(f"merge_network changed the frozen network's {name}",
                 "build new arrays (W2 + ...) instead of writing into net.W2 or net.b2")
    s = float(inputs["alpha"]) / int(inputs["r"])
    want, _ = ref_forward(X, net, params, s, s)
    merged = FrozenNetwork(*(array(data, f"merged_{k}") for k in ("W1", "b1", "W2", "b2")))
    shapes = {k: v.shape for k, v in frozen_arrays(merged).items()}
    if shapes != {k: v.shape for k, v in frozen_arrays(net).items()}:
        fail(f"the merged network's shapes are {shapes}; expected the frozen network's",
             "merging adds no layer: W2' is (d_ff, d) and b2' is (d,)")
    got = network_forward(X, merged)
    err = float(np.max(np.abs(got - want)))
    if err > 1e-10:
        only_1 = net.W2 + merged_delta(params["A1"], params["B1"], s).T
        M = merged_delta(params["A2"], params["B2"], s).T                    # (d, d), row convention
        if np.allclose(merged.W2, only_1):
            hint = "lora_2 is not folded in: out = h2 (I + M) with M = scale A2^T B2^T, so W2 and b2 both get (I + M)"
        elif np.allclose(merged.W2, only_1 @ (np.eye(D_MODEL) + M)):
            hint = "b2 also flows through lora_2: b2' = b2 (I + M)"
        else:
            hint = "W2' = (W2 + delta_W1^T)(I + M) and b2' = b2 (I + M), with delta_W = get_merged_delta()"
        fail(f"the merged network differs from the adapted one by up to {err:.3g}", hint)
    return Outcome(True, "the merged network equals the adapted one (max |diff| < 1e-10) with the frozen shapes")
