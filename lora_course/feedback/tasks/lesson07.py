"""Checks of lesson 07's implement-it tasks: DoRA, PiSSA, LoRA+ and QLoRA's NF4 base.

The student writes (names in the notebook; W0 is (d, k) with h = W0 x, so one output feature is one row):

    dora_magnitude_init(W0) -> m                          m (d,) = the norm of each row of W0
    dora_merged_weight(W0, A, B, m, scale) -> W           W (d, k) = m * V / ||V||_row, V = W0 + scale B A
    pissa_factors(W0, r, scale) -> (A, B, W_res)          A = sqrt(S_r / scale) V_r^T, B = U_r sqrt(S_r / scale)
    loraplus_sgd_step(A, B, dA, dB, lr, ratio) -> (A, B)  A - lr dA, B - ratio lr dB
    normal_float_levels() -> levels                       the 16 NF4 levels, sorted, -1 .. 1 with an exact 0
    nf4_quantize(W, levels, block) -> (codes, absmax)     nearest level of w / absmax, per block of 64
    nf4_dequantize(codes, absmax, levels, shape, block)   levels[codes] * absmax, reshaped

The collect side (here) only calls the student's functions (numpy alone); the judges (``lesson07_judges``,
``lesson07_nf4_judges``, run by the grader) import the package's reference.
"""

from __future__ import annotations

import numpy as np

from lora_course.feedback.calls import Diagnosis, call, returned_tuple
from lora_course.feedback.tasks.common import (
    Check,
    check_seed,
    check_table,
    floats,
    get,
    lesson_runners,
    with_second,
)
from lora_course.feedback.tasks.lesson07_judges import (
    NONE,
    PARTIAL,
    TUPLE,
    judge_dora,
    judge_loraplus,
    judge_pissa,
)
from lora_course.feedback.tasks.lesson07_nf4_judges import judge_dequantize, judge_levels, judge_quantize

NF4_TABLE = (  # the published NF4 table (QLoRA, Appendix E), handed to the quantisation tasks
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)


def make_inputs(seed: int) -> dict:
    """Inputs of the checks, drawn from ``seed``. d = 5 != k = 7, so a norm over the wrong axis has the wrong
    shape; scale = 2, so a forgotten scale shows; block = 8 on a (6, 12) weight gives 9 blocks, and on a (5, 13)
    weight 9 blocks of which the last is partial."""
    rng, (d, k, r) = np.random.default_rng([check_seed(seed), 7]), (5, 7, 2)
    first = {"seed": int(seed), "scale": 2.0, "r": r, "offset": 0.99,
             **_draw(rng, d, k, r, np.array([5.0, 3.0, 2.0, 1.0, 0.5])), "lr": 0.1, "ratio": 4.0}
    other = np.random.default_rng([check_seed(seed), 70])
    second = {"scale": 0.5, "r": 3, "offset": 0.98, **_draw(other, 4, 6, 3, np.array([6.0, 3.5, 2.0, 1.0])),
              "lr": 0.05, "ratio": 8.0,
              "block": 4, "absmax": other.uniform(0.5, 3.0, size=18),
              "absmax_partial": other.uniform(0.5, 3.0, size=17)}
    return with_second({**first, **_nf4(rng)}, second, "W0 of shape (4, 6), r = 3, scale 0.5; lr = 0.05, ratio = 8; "
                                                       "offset 0.98; block = 4")


def _draw(rng: np.random.Generator, d: int, k: int, r: int, S: np.ndarray) -> dict:
    """DoRA's, PiSSA's and LoRA+'s inputs: W0 (d, k), A (r, k), B (d, r), m (d,), a W0 with singular values S
    (well separated), gradients."""
    (U, _), (V, _) = np.linalg.qr(rng.normal(size=(d, d))), np.linalg.qr(rng.normal(size=(k, k)))
    n = min(d, k)
    return {"W0": rng.normal(size=(d, k)), "A": rng.normal(size=(r, k)), "B": rng.normal(size=(d, r)),
            "m": rng.uniform(0.5, 2.0, size=d), "W0_svd": (U[:, :n] * S) @ V[:, :n].T,
            "dA": rng.normal(size=(r, k)), "dB": rng.normal(size=(d, r))}


def _nf4(rng: np.random.Generator) -> dict:
    return {"W_q": rng.normal(size=(6, 12)), "block": 8, "levels": np.array(NF4_TABLE),
            "codes": rng.integers(0, 16, size=72), "absmax": rng.uniform(0.5, 3.0, size=9),
            # 65 entries in blocks of 8: the last block holds one entry, so code that assumes whole blocks shows
            "W_q_partial": rng.normal(size=(5, 13)), "codes_partial": rng.integers(0, 16, size=65),
            "absmax_partial": rng.uniform(0.5, 3.0, size=9)}


# ----------------------------------------------------------------------------- student side (collect)

def _student(ns: dict, name: str):
    """The student's function ``name``, called through ``call`` (an error shows the student's own line); numpy's
    broadcasting errors between a vector and a matrix come back with what usually causes them."""
    fn = get(ns, name)

    def student(*args, **kwargs):
        try:
            return call(name, fn, *args, **kwargs)
        except Diagnosis as found:
            if "broadcast" not in found.message or ",)" not in found.message:     # no vector (n,) among the shapes
                raise
            raise Diagnosis(found.message, "numpy could not line up two shapes; a vector of length d scales the "
                            "rows of a (d, k) matrix only as a column, v[:, None]") from None
    return student


def _values(value, fn: str) -> np.ndarray:
    """A returned array (or list of numbers) as a float copy; a Diagnosis for text, ragged lists or objects."""
    if isinstance(value, (str, bytes, dict)) or (isinstance(value, np.ndarray) and value.dtype.kind not in "biuf"):
        raise Diagnosis(f"{fn} returned a {type(value).__name__}"
                        + (f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else "")
                        + ", not numbers", "return a numpy array of numbers")
    try:
        return floats(value)
    except (TypeError, ValueError):
        raise Diagnosis(f"{fn} returned a {type(value).__name__} that is not a rectangular array of numbers (rows "
                        "of different lengths, or nested values)",
                        "return one numeric numpy array of the expected shape") from None


def _one(data: dict, key: str, value, fn: str) -> bool:
    """Store ``value`` (one array) under ``key``; a None or a tuple is flagged for the judge to name. True if stored."""
    if value is None or isinstance(value, tuple):
        data[(NONE if value is None else TUPLE) + fn] = np.ones(1 if value is None else max(len(value), 1))
        return False
    data[key] = _values(value, fn)
    return True


def _parts(data: dict, value, names: tuple[str, ...], fn: str) -> tuple | None:
    """The returned values named ``names`` (as returned: the judges read their types), or None with the None
    flagged (a missing return statement)."""
    if value is None:
        data[NONE + fn] = np.ones(1)
        return None
    return returned_tuple(fn, value, names)


def _collect_dora(ns: dict, inputs: dict) -> dict:
    W0, A, B, m = (floats(inputs[key]) for key in ("W0", "A", "B", "m"))
    magnitude = _student(ns, "dora_magnitude_init")(W0)
    merged = _student(ns, "dora_merged_weight")
    W = merged(W0, A, B, m, float(inputs["scale"]))
    data = {"W0_after": floats(W0), "A_after": floats(A), "B_after": floats(B), "m_after": floats(m)}
    _one(data, "m", magnitude, "dora_magnitude_init")
    _one(data, "W", W, "dora_merged_weight")
    if data.get("m", np.zeros(0)).shape == (W0.shape[0],):  # the start from the student's own m, where it fits
        _one(data, "W_start", merged(floats(inputs["W0"]), A, np.zeros_like(B), data["m"], float(inputs["scale"])),
             "dora_merged_weight")
    return data


def _collect_pissa(ns: dict, inputs: dict) -> dict:
    W0, data = floats(inputs["W0_svd"]), {}
    got = _parts(data, _student(ns, "pissa_factors")(W0, int(inputs["r"]), float(inputs["scale"])),
                 ("A", "B", "W_res"), "pissa_factors")
    if got is not None:
        data.update({k: _values(v, "pissa_factors") for k, v in zip(("A", "B", "W_res"), got, strict=True)})
    return {**data, "W0_after": floats(W0)}


def _collect_loraplus(ns: dict, inputs: dict) -> dict:
    A, B, dA, dB = (floats(inputs[key]) for key in ("A", "B", "dA", "dB"))
    data: dict = {}
    step = _student(ns, "loraplus_sgd_step")
    got = _parts(data, step(A, B, dA, dB, float(inputs["lr"]), float(inputs["ratio"])), ("A_new", "B_new"),
                 "loraplus_sgd_step")
    if got is not None:
        data.update({k: _values(v, "loraplus_sgd_step") for k, v in zip(("A_new", "B_new"), got, strict=True)})
    return {**data, "A_after": floats(A), "B_after": floats(B)}


def _collect_levels(ns: dict, inputs: dict) -> dict:
    levels, data = _student(ns, "normal_float_levels"), {}
    if _one(data, "levels", levels(), "normal_float_levels"):
        _one(data, "levels_other", levels(offset=float(inputs["offset"])), "normal_float_levels")
    return data


def _collect_quantize(ns: dict, inputs: dict) -> dict:
    W, levels, quantize, data = floats(inputs["W_q"]), floats(inputs["levels"]), _student(ns, "nf4_quantize"), {}
    got = _parts(data, quantize(W, levels, int(inputs["block"])), ("codes", "absmax"), "nf4_quantize")
    if got is None:
        return data
    data.update({"codes": _values(got[0], "nf4_quantize"), "absmax": _values(got[1], "nf4_quantize"),
                 "W_after": floats(W)})
    try:                                                    # a weight whose size is not a multiple of block
        codes, absmax = returned_tuple("nf4_quantize", quantize(floats(inputs["W_q_partial"]), levels,
                                                                   int(inputs["block"])), ("codes", "absmax"))
        data.update({"codes_partial": _values(codes, "nf4_quantize"),
                     "absmax_partial": _values(absmax, "nf4_quantize")})
    except Exception:  # noqa: BLE001 - reported by the judge as code that assumes whole blocks
        data[PARTIAL + "nf4_quantize"] = np.ones(1)
    return data


def _collect_dequantize(ns: dict, inputs: dict) -> dict:
    codes, absmax, levels = np.array(inputs["codes"]), floats(inputs["absmax"]), floats(inputs["levels"])
    dequantize, data = _student(ns, "nf4_dequantize"), {}
    if not _one(data, "W", dequantize(codes, absmax, levels, (6, 12), int(inputs["block"])), "nf4_dequantize"):
        return data
    try:                                                    # 65 entries: the last block is partial
        W = dequantize(np.array(inputs["codes_partial"]), floats(inputs["absmax_partial"]), levels, (5, 13),
                       int(inputs["block"]))
        _one(data, "W_partial", W, "nf4_dequantize")
    except Exception:  # noqa: BLE001 - reported by the judge as code that assumes whole blocks
        data[PARTIAL + "nf4_dequantize"] = np.ones(1)
    return data


CHECKS: dict[str, Check] = check_table((
    Check("dora", "m = ||W0||_row and W' = m V / ||V||_row", _collect_dora, judge_dora),
    Check("pissa", "A, B from the top singular triplets, W_res = W0 - scale B A", _collect_pissa, judge_pissa),
    Check("loraplus", "A at lr, B at ratio * lr", _collect_loraplus, judge_loraplus),
    Check("nf4_levels", "the 16 NormalFloat levels", _collect_levels, judge_levels),
    Check("nf4_quantize", "block-wise absmax and nearest-level codes", _collect_quantize, judge_quantize),
    Check("nf4_dequantize", "levels[codes] * absmax", _collect_dequantize, judge_dequantize),
), {
    "dora": (('dora_magnitude_init', 'dora_merged_weight'),
             ('lora_course.dora.dora_magnitude', 'lora_course.dora.dora_weight', 'lora_course.dora.dora_forward')),
    "pissa": (('pissa_factors',),
              ('lora_course.pissa.pissa_init', 'lora_course.lowrank.factorize', 'lora_course.lowrank.best_rank_r')),
    "loraplus": (('loraplus_sgd_step',),
                 ('lora_course.loraplus.loraplus_sgd_step', 'lora_course.loraplus.loraplus_learning_rates')),
    "nf4_levels": (('normal_float_levels',), ('lora_course.nf4.nf4_levels',)),
    "nf4_quantize": (('nf4_quantize',), ('lora_course.nf4.quantize_blockwise',)),
    "nf4_dequantize": (('nf4_dequantize',), ('lora_course.nf4.dequantize_blockwise',)),
})


judge_safely, run_check = lesson_runners(CHECKS, make_inputs)
