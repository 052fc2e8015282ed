"""The bad-input contract, as data: one valid call of every public function of the course's library modules,
the kind of each parameter, and the bad values each kind must reject.

Used by ``tests/test_contracts.py`` (hypothesis draws the parameter and the bad value) and by
``benchmarks/contract_audit.py`` (every parameter times every fixed bad value, classified).
Nothing here imports ``InputError``, so the audit also runs against older versions of the package.

Kinds (``Spec.kinds``):
    array      float array whose shape is tied to another argument (a dropped column must be rejected)
    free       float array of any shape of its ndim (only its contents and ndim are checked)
    anynd      float array of any shape and ndim (only its contents are checked)
    grad       upstream gradient: like ``array``, and a wrong shape must be rejected
    ints       integer array (token ids, labels, task ids)
    int        positive integer; ``int0`` integer >= 0
    rank       LoRA rank r (1 <= r <= min(d, k))
    scale      the LoRA multiplier (one finite real number)
    pos        a finite number > 0; ``nonneg`` a finite number >= 0
    rng        np.random.Generator
    choice     one of a few strings
    text       any string (a claim's text, a sentence, a variant name)
    bool       True / False
    obj        an object of one class (config, setting, task, network, ...)
    map        a dict
    seq        a list or tuple
    fn         a callable
    adapter    an (A, B, scale) adapter
    cache      the cache tuple of a forward function
A suffix ``+batch`` marks an array whose first axis is the batch: an empty batch must give either a clear
error or a result (never an obscure error). A suffix ``+nanok`` marks a weight on a hot forward path that is
checked for type and shape but not scanned for NaN / inf (those propagate to NaN outputs; a per-call scan
would change what lesson 04 times).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import lora_course.analysis as AN
import lora_course.dora as DO
import lora_course.gradcheck as G
import lora_course.layer as L
import lora_course.lessons.l00_overhead as LO
import lora_course.lessons.l00_storage as ST
import lora_course.lessons.l01_cookbook as CB
import lora_course.lessons.l02_toy_regression as TR
import lora_course.lessons.l02_update_size as US
import lora_course.lessons.l03_experiment as TX
import lora_course.lessons.l03_findings as TF
import lora_course.lessons.l03_plots as TP
import lora_course.lessons.l03_targets as TE
import lora_course.lessons.l03_widget as TW
import lora_course.lessons.l04_claims as LCL
import lora_course.lessons.l04_cost_model as CM
import lora_course.lessons.l04_drift as DR
import lora_course.lessons.l04_latency as LA
import lora_course.lessons.l05_project as PD
import lora_course.lessons.l07_experiments as FX
import lora_course.lessons.l07_summary as FS
import lora_course.lessons.l07_training as FT
import lora_course.loraplus as LP
import lora_course.lowrank as LR
import lora_course.measure.allocator as AL
import lora_course.measure.blas_threads as BT
import lora_course.measure.budget as BU
import lora_course.measure.timing as TI
import lora_course.measure.verdicts as VD
import lora_course.multi_lora as ML
import lora_course.nf4 as NF
import lora_course.paper as P
import lora_course.pissa as PI
import lora_course.support.live as LV
import lora_course.support.plotting as PL
import lora_course.support.svg_axes as SA
import lora_course.support.svg_charts as SC
import lora_course.support.svg_colormap as SM
import lora_course.support.versions as VS
import lora_course.toy.adam as AD
import lora_course.toy.attention as AT
import lora_course.toy.blocks as BL
import lora_course.toy.layernorm as LN
import lora_course.toy.mlp as MLP
import lora_course.toy.transformer as T

try:                                         # absent from older versions (the audit's before count)
    import lora_course.support.units as UN
except ImportError:
    UN = None
import lora_course.validation as V

M = sys.modules["lora_course.merge"]   # the package's __init__ re-exports a function named merge over it

# Label -> module. Labels name the cases; the imports above are what a layout move rewrites.
MODULES = {
    "validation": V,
    "layer": L,
    "merge": M,
    "lowrank": LR,
    "gradcheck": G,
    "analysis": AN,
    "multi_lora": ML,
    "paper": P,
    "adam": AD,
    "attention": AT,
    "layernorm": LN,
    "mlp": MLP,
    "transformer": T,
    "blocks": BL,
    "cookbook": CB,
    "drift": DR,
    "storage": ST,
    "update_size": US,
    "toy_regression": TR,
    "latency_overhead": LO,
    "targets_widget": TW,
    "targets_experiment": TE,
    "project_data": PD,
    "latency": LA,
    "timing": TI,
    "verdicts": VD,
    "blas_threads": BT,
    "budget": BU,
    "allocator": AL,
    "plotting": PL,
    "live": LV,
    "l03_experiment": TX,
    "l03_findings": TF,
    "l03_plots": TP,
    "l04_cost_model": CM,
    "l04_claims": LCL,
    "svg_axes": SA,
    "svg_charts": SC,
    "svg_colormap": SM,
    "versions": VS,
    "units": UN,
}
MODULES = {label: module for label, module in MODULES.items() if module is not None}

REJECT, SAME, EITHER = "reject", "same", "either"


def public_callables() -> dict[str, object]:
    """'module.name' and 'module.Class.method' for every public function, class and method of MODULES."""
    out = {}
    for m, mod in MODULES.items():
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(obj):
                out[f"{m}.{name}"] = obj
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                out[f"{m}.{name}"] = obj
                for meth, f in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(f):
                        out[f"{m}.{name}.{meth}"] = f
    return out


# Plain records: a NamedTuple or dataclass that only holds what a checked function built or returned.
RECORDS = {
    "merge.Adapter", "cookbook.Cookbook", "cookbook.RankView", "cookbook.Spectrum", "drift.DriftResult",
    "storage.StorageCosts",
    "storage.StorageRow", "update_size.OneStepSetup", "update_size.UpdateSize", "toy_regression.ToyTask",
    "toy_regression.TrainResult", "latency_overhead.OverheadRow", "latency.CaseTiming", "targets_experiment.Base",
    "targets_experiment.Run", "l03_experiment.Experiment", "project_data.FrozenNetwork", "project_data.Split",
    "blocks.BlockStack", "timing.Interval", "timing.Comparison", "verdicts.Verdict", "verdicts.Claim",
}
# Methods and functions that take no argument besides self.
NO_INPUTS = {
    "layer.LoRA.get_merged_delta", "project_data.FrozenNetwork.arrays", "project_data.FrozenNetwork.copy",
    "targets_experiment.PointerTask.groups", "targets_experiment.Setting.pretrain_task",
    "targets_experiment.Setting.downstream_task", "l03_experiment.Experiment.measured",
    "l03_experiment.Experiment.table5", "l03_experiment.Experiment.table6",
    "l03_experiment.Experiment.baselines", "versions.versions_line", "timing.Interval.as_percent_overhead",
    "timing.Interval.as_ratio", "timing.Comparison.statement", "verdicts.Claim.line", "svg_axes.Axis.tick_values",
    "allocator.keep_freed_memory", "budget.timing_cap",
}


@dataclass
class Spec:
    """``call(**valid())`` is a correct call; ``kinds`` gives each argument's kind."""

    call: Callable
    valid: Callable[[], dict]
    kinds: dict[str, str]
    deterministic: bool = True          # False for timings: equal results are not expected
    names: dict[str, str] = field(default_factory=dict)   # parameter -> the name its messages use, if other


# ------------------------------------------------------------------ fixtures
def rng():
    return np.random.default_rng(0)


def w0():
    return rng().normal(size=(4, 3))


def factors():
    g = rng()
    return g.normal(size=(2, 3)), g.normal(size=(4, 2))   # A (r, k), B (d, r)


def adapter(seed=0, d=4, k=3, r=2):
    g = np.random.default_rng(seed)
    return M.Adapter(g.normal(size=(r, k)), g.normal(size=(d, r)), 0.5)


def xs(n=5, k=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, k))


_CACHE: dict[str, object] = {}


def _once(key: str, build: Callable):
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def toy_cfg():
    return T.ToyConfig(vocab_size=7, seq_len=3, d_model=8, n_heads=2, n_layers=1, d_ff=8,
                                        n_classes=3)


def toy_model():
    cfg = toy_cfg()
    params = T.init_params(cfg, rng())
    adapters = T.init_adapters(cfg, ("q", "v"), 2, rng())
    tokens = np.array([[0, 1, 2], [3, 4, 5]])
    return cfg, params, adapters, tokens


def stack_cfg():
    return BL.StackConfig(d_model=8, n_heads=2, n_layers=1)


def tiny_setting():
    return TE.TINY


def tiny_experiment():
    from dataclasses import replace
    setting = replace(TE.TINY, ranks=(1, 2, 8), steps=2, pretrain_steps=5)
    return _once("experiment", lambda: TX.run_experiment(setting))


def one_step_setup():
    return _once("setup", lambda: US.make_setup(d=6, k=5, n=8, max_r=4, draws=2))


def net():
    return PD.make_network(rng(), d=3, d_ff=4)


def interval():
    return TI.Interval(1.05, 1.0, 1.1)


def comparison(seed: int = 0, rounds: int = 8) -> TI.Comparison:
    """Synthetic timings (no clock): frozen ~ 1 ms with round-to-round load, each variant a factor of it."""
    def build():
        g = np.random.default_rng(seed)
        base = 1e-3 * (1 + 0.2 * g.random(rounds))
        factors = {"merged": 1.0, "lora": 1.2, "adapter_l": 1.1, "adapter_h": 1.3}
        times = {"frozen": base} | {v: f * base * (1 + 0.01 * g.normal(size=rounds)) for v, f in factors.items()}
        return TI.Comparison("frozen", times, TI.ratio_intervals(times, "frozen", rng=g, n_boot=100), 0.1, 0.02, 1)
    return _once(f"comparison {seed} {rounds}", build)


def case_timing(batch: int = 1, seq: int = 32, seed: int = 0) -> LA.CaseTiming:
    return LA.CaseTiming(batch, seq, comparison(seed), LA.paper_case(batch, seq, 4))


def cost_features(variant, case):
    return CM.extra_cost_features(variant, case.tokens, 16, 2, 4, 3)


def a_claim():
    return VD.claim("LoRA is slower than frozen", interval(), "above", 1.0)


def unit_sizes(optimizer: str = "sgd"):
    return _once(f"unit {optimizer}", lambda: US.unit_scale_sizes(one_step_setup(), [1, 2], optimizer=optimizer))


def an_axis():
    return SA.Axis(0.0, 100.0, "error (%)", ticks=[0, 50, 100])


def a_series():
    return SC.Series(np.array([0.0, 1.0, 2.0]), np.array([1.0, 50.0, 99.0]), "#0072B2", "curve")


def live_panel_html(controls, render, min_height=None, arrange=None) -> str:
    """The panel's HTML after its first render, without the kernel time (which differs per call)."""
    import re

    panel = LV.live_panel(controls, render, min_height, arrange)
    return re.sub(r'data-kernel-ms="[^"]*"', "", panel.children[-1].value)


def live_panel_args() -> dict:
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=2, min=1, max=5)
    return {"controls": {"r": slider}, "render": lambda r: f"<p>r = {r}</p>", "min_height": "100px",
            "arrange": [widgets.HBox([slider])]}


def axis_view(axis):
    """What an Axis draws: its tick values, tick labels and where its limits land."""
    return axis.tick_values(), [axis.tick_text(v) for v in axis.tick_values()], axis.fraction([axis.lo, axis.hi])


def timed_fns():
    return {"frozen": lambda: None, "lora": lambda: None}


# ------------------------------------------------------------------ the specs
def specs() -> dict[str, Spec]:

    def fwd_cache():
        A, B = factors()
        return L.lora_forward(xs(), A, B, 0.5)[1]

    def lin_cache():
        A, B = factors()
        return L.linear_lora_forward(xs(), w0(), A, B, 0.5)[1]

    def lora_obj():
        return L.LoRA(3, 4, 2, rng=rng())

    def attn():
        g = rng()
        W = {t: g.normal(size=(4, 4)) for t in "qkvo"}
        A, B = g.normal(size=(2, 4)), g.normal(size=(4, 2))
        return g.normal(size=(2, 3, 4)), W, {"q": (A, B, 0.5)}

    def adam_call(params, grads, lr=None):
        opt = AD.Adam(["x"], lr=0.1)
        opt.step(params, grads, lr)
        return params["x"]

    def ln_cache():
        return LN.layernorm_forward(xs(), np.ones(3), np.zeros(3))[1]

    def mlp_args():
        g = rng()
        return {"X": xs(k=4), "W1": g.normal(size=(6, 4)), "b1": np.zeros(6), "W2": g.normal(size=(4, 6)),
                "b2": np.zeros(4)}

    def model_cache():
        cfg, params, adapters, tokens = toy_model()
        return T.model_forward(params, tokens, cfg, adapters, 0.5)[1]

    def head():
        return PD.ClassificationHead(3, rng())

    def grad_f():
        x = np.array([1.0, 2.0, 3.0])
        return {"f": lambda: float(np.sum(x**2)), "x": x}

    def grad_arr():
        x = np.array([1.0, 2.0, 3.0])
        return {"f": lambda: x**2, "x": x, "dout": np.array([1.0, -1.0, 2.0])}

    def times():
        return {"frozen": np.array([1.0, 1.1, 0.9, 1.05]), "lora": np.array([1.2, 1.3, 1.1, 1.25])}

    def blas(n):
        with BT.blas_threads(n) as got:
            return got

    def fig(**kw):
        import matplotlib.pyplot as plt
        f, _ = PL.figure(**kw)
        plt.close(f)
        return None

    def plot(fn, *args, **kw):
        import matplotlib.pyplot as plt
        f = fn(*args, **kw)
        plt.close(f)
        return None

    ad0, ad1 = adapter(0), adapter(1)
    S = Spec
    table = {
        # validation: the checks themselves
        "validation.as_array": S(_v(V, "as_array"), lambda: {"name": "X", "x": xs(), "ndim": 2}, {"x": "anynd"},
                                 names={"x": "X"}),
        "validation.as_real": S(_v(V, "as_real"), lambda: {"name": "W", "x": xs(), "ndim": 2}, {"x": "free+nanok"},
                                names={"x": "W"}),
        "validation.as_float_array": S(_v(V, "as_float_array"), lambda: {"name": "X", "x": xs(), "ndim": 2},
                                       {"x": "anynd"}, names={"x": "X"}),
        "validation.check_rng": S(_v(V, "check_rng"), lambda: {"rng": rng()}, {"rng": "rng"}, deterministic=False),
        "validation.check_shape": S(_v(V, "check_shape"), lambda: {"name": "X", "x": xs(), "expected": (5, 3)},
                                    {"x": "array"}, names={"x": "X"}),
        "validation.check_int": S(_v(V, "check_int"), lambda: {"name": "n", "value": 3, "minimum": 1}, {"value": "int"},
                                  names={"value": "n"}),
        "validation.check_positive_int": S(_v(V, "check_positive_int"), lambda: {"name": "n", "value": 3},
                                           {"value": "int"}, names={"value": "n"}),
        "validation.check_rank": S(_v(V, "check_rank"), lambda: {"r": 2, "d": 4, "k": 3}, {"r": "rank"}),
        "validation.check_number": S(_v(V, "check_number"), lambda: {"name": "lr", "value": 0.1, "minimum": 0},
                                     {"value": "pos"}, names={"value": "lr"}),
        "validation.check_open_interval": S(_v(V, "check_open_interval"),
                                            lambda: {"name": "level", "value": 0.95, "low": 0.0, "high": 1.0},
                                            {"value": "pos"}, names={"value": "level"}),
        "validation.check_alpha": S(_v(V, "check_alpha"), lambda: {"alpha": 2.0}, {"alpha": "pos"}),
        "validation.check_scale": S(_v(V, "check_scale"), lambda: {"scale": 0.5}, {"scale": "scale"}),
        "validation.check_choice": S(_v(V, "check_choice"),
                                     lambda: {"name": "init", "value": "a", "options": ("a", "b")},
                                     {"value": "choice"}, names={"value": "init"}),
        "validation.check_callable": S(_v(V, "check_callable"), lambda: {"name": "f", "f": len}, {"f": "fn"}),
        "validation.check_adapter": S(_v(V, "check_adapter"), lambda: {"name": "adapter", "adapter": adapter()},
                                      {"adapter": "adapter"}),
        "validation.check_gradient": S(_v(V, "check_gradient"), lambda: {"name": "dH", "g": xs(), "shape": (5, 3)},
                                       {"g": "grad"}, names={"g": "dH"}),
        "validation.check_sequence": S(_v(V, "check_sequence"), lambda: {"name": "ranks", "value": [1, 2]},
                                       {"value": "seq"}, names={"value": "ranks"}),
        "validation.check_mapping": S(_v(V, "check_mapping"), lambda: {"name": "params", "value": {"a": 1}},
                                      {"value": "map"}, names={"value": "params"}),
        "validation.check_instance": S(_v(V, "check_instance"), lambda: {"name": "cfg", "value": 3, "cls": int},
                                       {"value": "obj"}, names={"value": "cfg"}),
        "validation.check_text": S(_v(V, "check_text"), lambda: {"name": "title", "value": "error"},
                                   {"value": "text"}, names={"value": "title"}),
        "validation.check_bool": S(_v(V, "check_bool"), lambda: {"name": "relative", "value": True}, {"value": "bool"},
                                   names={"value": "relative"}),
        # layer
        "layer.scale_factor": S(L.scale_factor, lambda: {"r": 4, "alpha": 8.0, "rslora": False},
                                {"r": "int", "alpha": "pos", "rslora": "bool"}),
        "layer.init_lora": S(L.init_lora, lambda: {"d": 4, "k": 3, "r": 2, "rng": rng(), "std": 0.01},
                             {"d": "int", "k": "int", "r": "rank", "rng": "rng", "std": "pos"}),
        "layer.lora_forward": S(L.lora_forward, lambda: {"X": xs(), "A": factors()[0], "B": factors()[1],
                                                         "scale": 0.5},
                                {"X": "array+batch", "A": "array", "B": "array", "scale": "scale"}),
        "layer.lora_backward": S(L.lora_backward, lambda: {"ddelta": xs(k=4), "cache": fwd_cache()},
                                 {"ddelta": "grad", "cache": "cache"}),
        "layer.linear_lora_forward": S(L.linear_lora_forward,
                                       lambda: {"X": xs(), "W0": w0(), "A": factors()[0], "B": factors()[1],
                                                "scale": 0.5},
                                       {"X": "array+batch", "W0": "array", "A": "array", "B": "array",
                                        "scale": "scale"}),
        "layer.linear_lora_backward": S(L.linear_lora_backward, lambda: {"dH": xs(k=4), "cache": lin_cache()},
                                        {"dH": "grad", "cache": "cache"}),
        "layer.LoRA": S(L.LoRA, lambda: {"d_in": 3, "d_out": 4, "r": 2, "alpha": 4.0, "init_scale": 0.01,
                                          "rng": rng(), "rslora": False},
                        {"d_in": "int", "d_out": "int", "r": "rank", "alpha": "pos", "init_scale": "pos",
                         "rng": "rng", "rslora": "bool"}),
        "layer.LoRA.forward": S(lambda X: lora_obj().forward(X), lambda: {"X": xs()}, {"X": "array+batch"}),
        "layer.LoRA.backward": S(lambda ddelta, cache: lora_obj().backward(ddelta, cache),
                                 lambda: {"ddelta": xs(k=4), "cache": lora_obj().forward(xs())[1]},
                                 {"ddelta": "grad", "cache": "cache"}),
        "layer.LoRA.update": S(lambda lr: lora_obj().update(lr), lambda: {"lr": 0.1}, {"lr": "pos"}),
        # merge
        "merge.merged_delta": S(M.merged_delta, lambda: {"A": factors()[0], "B": factors()[1], "scale": 0.5},
                                {"A": "free", "B": "array", "scale": "scale"}),
        "merge.merge": S(M.merge, lambda: {"W0": w0(), "adapter": adapter()}, {"W0": "array", "adapter": "adapter"}),
        "merge.unmerge": S(M.unmerge, lambda: {"W": w0(), "adapter": adapter()}, {"W": "array", "adapter": "adapter"}),
        "merge.switch": S(M.switch, lambda: {"W": w0(), "old": ad0, "new": ad1},
                          {"W": "array", "old": "adapter", "new": "adapter"}),
        "merge.MergedWeight": S(lambda W0: M.MergedWeight(W0).W, lambda: {"W0": w0()}, {"W0": "free"}),
        "merge.MergedWeight.switch_to": S(lambda adapter: M.MergedWeight(w0()).switch_to(adapter).copy(),
                                          lambda: {"adapter": adapter()}, {"adapter": "adapter"}),
        # lowrank
        "lowrank.matrix_rank": S(LR.matrix_rank, lambda: {"M": w0(), "tol": 1e-8}, {"M": "free", "tol": "nonneg"}),
        "lowrank.singular_values": S(LR.singular_values, lambda: {"M": w0()}, {"M": "free"}),
        "lowrank.factorize": S(LR.factorize, lambda: {"M": w0(), "r": 2}, {"M": "free", "r": "rank"}),
        "lowrank.best_rank_r": S(LR.best_rank_r, lambda: {"M": w0(), "r": 2}, {"M": "free", "r": "rank"}),
        "lowrank.approximation_errors": S(LR.approximation_errors, lambda: {"M": w0(), "relative": True},
                                          {"M": "free", "relative": "bool"}),
        "lowrank.approximation_error": S(LR.approximation_error, lambda: {"M": w0(), "r": 2, "relative": True},
                                         {"M": "free", "r": "rank", "relative": "bool"}),
        "lowrank.params_per_matrix": S(LR.params_per_matrix, lambda: {"d": 4, "k": 3, "r": 2},
                                       {"d": "int", "k": "int", "r": "rank"}),
        "lowrank.compression_ratio": S(LR.compression_ratio, lambda: {"d": 4, "k": 3, "r": 2},
                                       {"d": "int", "k": "int", "r": "rank"}),
        "lowrank.lora_param_count": S(LR.lora_param_count, lambda: {"n_matrices": 2, "d_model": 8, "r": 2},
                                      {"n_matrices": "int", "d_model": "int", "r": "rank"}),
        # gradcheck
        "gradcheck.numerical_gradient": S(G.numerical_gradient, lambda: {**grad_f(), "h": 1e-5},
                                          {"f": "fn", "x": "anynd", "h": "pos"}),
        "gradcheck.numerical_gradient_array": S(G.numerical_gradient_array, lambda: {**grad_arr(), "h": 1e-5},
                                                {"f": "fn", "dout": "grad", "h": "pos"}),
        "gradcheck.rel_error": S(G.rel_error, lambda: {"a": xs(), "b": xs(seed=2)}, {"a": "anynd", "b": "array"}),
        # analysis
        "analysis.subspace_similarity_grid": S(AN.subspace_similarity_grid,
                                               lambda: {"A1": xs(n=2, k=6), "A2": xs(n=3, k=6, seed=3)},
                                               {"A1": "array", "A2": "array"}),
        "analysis.subspace_similarity": S(AN.subspace_similarity,
                                          lambda: {"A1": xs(n=2, k=6), "A2": xs(n=3, k=6, seed=3), "i": 1, "j": 2},
                                          {"A1": "array", "A2": "array", "i": "int", "j": "int"}),
        "analysis.amplification_factor": S(AN.amplification_factor,
                                           lambda: {"dW": xs(n=4, k=4), "W": xs(n=4, k=4, seed=4), "r": 2},
                                           {"dW": "array", "W": "array", "r": "rank"}),
        # multi_lora
        "multi_lora.merge_per_task": S(ML.merge_per_task, lambda: {"W0": w0(), "adapters": [ad0, ad1], "X": xs(),
                                                                  "task_ids": np.array([0, 1, 0, 1, 1])},
                                       {"W0": "array", "adapters": "seq", "X": "array", "task_ids": "ints"}),
        "multi_lora.loop_per_adapter": S(ML.loop_per_adapter, lambda: {"W0": w0(), "adapters": [ad0, ad1],
                                                                      "X": xs(), "task_ids": np.array([0, 1, 0, 1, 1])},
                                         {"W0": "array", "adapters": "seq", "X": "array", "task_ids": "ints"}),
        "multi_lora.stack_adapters": S(ML.stack_adapters, lambda: {"adapters": [ad0, ad1]}, {"adapters": "seq"}),
        "multi_lora.gathered": S(ML.gathered, lambda: {"W0": w0(), "stacked": ML.stack_adapters([ad0, ad1]),
                                                       "X": xs(), "task_ids": np.array([0, 1, 0, 1, 1])},
                                 {"W0": "array", "stacked": "cache", "X": "array", "task_ids": "ints"}),
        "multi_lora.round_robin_ids": S(ML.round_robin_ids, lambda: {"n_rows": 5, "n_distinct": 2},
                                        {"n_rows": "int", "n_distinct": "int"}),
        "multi_lora.throughput_sweep": S(ML.throughput_sweep, lambda: {"W0": w0(), "adapters": [ad0, ad1],
                                                                      "X": xs(), "distinct_counts": [1, 2],
                                                                      "repeats": 1},
                                         {"W0": "array", "adapters": "seq", "X": "array", "distinct_counts": "seq",
                                          "repeats": "int"}, deterministic=False),
        # adam
        "adam.Adam": S(lambda names, lr, beta1, beta2, eps: vars(AD.Adam(names, lr, beta1, beta2, eps)),
                       lambda: {"names": ["x"], "lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                       {"names": "seq", "lr": "pos", "beta1": "nonneg", "beta2": "nonneg", "eps": "pos"}),
        "adam.Adam.step": S(adam_call, lambda: {"params": {"x": np.ones((2, 3))}, "grads": {"x": xs(n=2)},
                                                "lr": 0.1},
                            {"params": "map", "grads": "map", "lr": "pos"}),
        # attention
        "attention.projection_forward": S(AT.projection_forward, lambda: {"X": xs(), "W": w0(),
                                                                          "lora": (*factors(), 0.5)},
                                          {"X": "array+batch", "W": "array", "lora": "adapter"}),
        "attention.projection_backward": S(AT.projection_backward,
                                           lambda: {"dout": xs(k=4), "cache": AT.projection_forward(xs(), w0())[1],
                                                    "weight_grads": True},
                                           {"dout": "grad", "cache": "cache", "weight_grads": "bool"}),
        "attention.softmax": S(AT.softmax, lambda: {"x": xs(), "axis": -1}, {"x": "anynd", "axis": "int0"}),
        "attention.attention_forward": S(lambda X, weights, n_heads, loras: AT.attention_forward(
                                             X, weights, n_heads, loras)[0],
                                         lambda: dict(zip(("X", "weights", "loras"), attn(), strict=True), n_heads=2),
                                         {"X": "array+batch", "weights": "map", "n_heads": "int", "loras": "map"}),
        "attention.attention_backward": S(AT.attention_backward,
                                          lambda: {"dout": attn()[0], "cache": AT.attention_forward(*attn()[:2], 2)[1],
                                                   "weight_grads": True},
                                          {"dout": "grad", "cache": "cache", "weight_grads": "bool"}),
        # layernorm, mlp
        "layernorm.layernorm_forward": S(LN.layernorm_forward, lambda: {"x": xs(), "gamma": np.ones(3),
                                                                        "beta": np.zeros(3), "eps": 1e-5},
                                         {"x": "anynd", "gamma": "array+nanok", "beta": "array+nanok", "eps": "pos"}),
        "layernorm.layernorm_backward": S(LN.layernorm_backward, lambda: {"dout": xs(), "cache": ln_cache()},
                                          {"dout": "grad", "cache": "cache"}),
        "mlp.gelu_forward": S(MLP.gelu_forward, lambda: {"x": xs()}, {"x": "anynd+nanok"}),
        "mlp.gelu_backward": S(MLP.gelu_backward, lambda: {"dout": xs(), "cache": MLP.gelu_forward(xs())[1]},
                               {"dout": "grad", "cache": "cache"}),
        "mlp.mlp_forward": S(MLP.mlp_forward, mlp_args,
                             {"X": "array+batch", "W1": "array+nanok", "b1": "array+nanok", "W2": "array+nanok",
                              "b2": "array+nanok"}),
        "mlp.mlp_backward": S(MLP.mlp_backward, lambda: {"dout": xs(k=4), "cache": MLP.mlp_forward(**mlp_args())[1],
                                                         "weight_grads": True},
                              {"dout": "grad", "cache": "cache", "weight_grads": "bool"}),
        # transformer
        "transformer.ToyConfig": S(T.ToyConfig, lambda: {"vocab_size": 7, "seq_len": 3, "d_model": 8, "n_heads": 2},
                                   {"vocab_size": "int", "seq_len": "int", "d_model": "int", "n_heads": "int"}),
        "transformer.layer_names": S(T.layer_names, lambda: {"i": 0}, {"i": "int0"}),
        "transformer.init_params": S(T.init_params, lambda: {"cfg": toy_cfg(), "rng": rng()},
                                     {"cfg": "obj", "rng": "rng"}),
        "transformer.init_adapters": S(T.init_adapters, lambda: {"cfg": toy_cfg(), "targets": ("q", "v"), "r": 2,
                                                                 "rng": rng(), "std": 0.1},
                                       {"cfg": "obj", "targets": "seq", "r": "rank", "rng": "rng", "std": "pos"}),
        "transformer.n_params": S(T.n_params, lambda: {"arrays": {"a": np.ones(3), "b": np.ones(2)},
                                                       "names": ["a"]}, {"arrays": "map", "names": "seq"}),
        "transformer.model_forward": S(lambda params, tokens, cfg, adapters, scale: T.model_forward(
                                           params, tokens, cfg, adapters, scale)[0],
                                       lambda: dict(zip(("cfg", "params", "adapters", "tokens"), toy_model(),
                                                        strict=True), scale=0.5),
                                       {"params": "map", "tokens": "ints", "cfg": "obj", "adapters": "map",
                                        "scale": "scale"}),
        "transformer.model_backward": S(T.model_backward, lambda: {"dlogits": xs(n=2), "cache": model_cache(),
                                                                   "base_grads": True},
                                        {"dlogits": "grad", "cache": "cache", "base_grads": "bool"}),
        "transformer.softmax_cross_entropy": S(T.softmax_cross_entropy, lambda: {"logits": xs(n=4),
                                                                                 "y": np.array([0, 2, 1, 1])},
                                               {"logits": "array+batch", "y": "ints"}),
        "transformer.accuracy": S(T.accuracy, lambda: {"logits": xs(n=4), "y": np.array([0, 2, 1, 1])},
                                  {"logits": "array+batch", "y": "ints"}),
        # blocks
        "blocks.StackConfig": S(BL.StackConfig, lambda: {"d_model": 8, "n_heads": 2, "n_layers": 1},
                                {"d_model": "int", "n_heads": "int", "n_layers": "int"}),
        "blocks.adapter_module_params": S(BL.adapter_module_params, lambda: {"d_model": 8, "bottleneck": 2,
                                                                             "with_norm": True},
                                          {"d_model": "int", "bottleneck": "int", "with_norm": "bool"}),
        "blocks.bottleneck_for_budget": S(BL.bottleneck_for_budget, lambda: {"budget": 1000.0, "config": stack_cfg(),
                                                                             "variant": "adapter_l"},
                                          {"budget": "pos", "config": "obj", "variant": "choice"}),
        "blocks.scaled_budget": S(BL.scaled_budget, lambda: {"config": stack_cfg(), "paper_params": 11e6},
                                  {"config": "obj", "paper_params": "pos"}),
        "blocks.BlockStack.forward": S(lambda X: BL.build_variants(stack_cfg(), rng(), r=2,
                                                                   variants=("lora",))["lora"].forward(X),
                                       lambda: {"X": xs(n=6, k=8).reshape(2, 3, 8)}, {"X": "array+batch"}),
        "blocks.adapter_forward": S(BL.adapter_forward,
                                    lambda: {"H": xs(k=8), "module": BL.init_adapters(stack_cfg(), "adapter_h", 2,
                                                                                      rng())[0][0]},
                                    {"H": "array+batch+nanok", "module": "map"}),
        "blocks.init_blocks": S(BL.init_blocks, lambda: {"config": stack_cfg(), "rng": rng()},
                                {"config": "obj", "rng": "rng"}),
        "blocks.init_qv_loras": S(BL.init_qv_loras, lambda: {"config": stack_cfg(), "r": 2, "rng": rng(),
                                                             "alpha": 4.0},
                                  {"config": "obj", "r": "rank", "rng": "rng", "alpha": "pos"}),
        "blocks.init_adapters": S(BL.init_adapters, lambda: {"config": stack_cfg(), "variant": "adapter_l",
                                                             "bottleneck": 2, "rng": rng()},
                                  {"config": "obj", "variant": "choice", "bottleneck": "int", "rng": "rng"}),
        "blocks.merge_stack": S(BL.merge_stack, lambda: {"blocks": BL.init_blocks(stack_cfg(), rng()),
                                                         "loras": BL.init_qv_loras(stack_cfg(), 2, rng())},
                                {"blocks": "seq", "loras": "seq"}),
        "blocks.build_variants": S(BL.build_variants, lambda: {"config": stack_cfg(), "rng": rng(), "r": 2,
                                                               "variants": ("frozen", "lora")},
                                   {"config": "obj", "rng": "rng", "r": "rank", "variants": "seq"}),
        # cookbook
        "cookbook.sauce_matrix": S(CB.sauce_matrix, lambda: {"sauces": {"x": {"butter": 5.0}}}, {"sauces": "map"}),
        "cookbook.make_cookbook": S(CB.make_cookbook, lambda: {"rng": rng(), "n_recipes": 5, "noise": 0.5,
                                                               "max_sauces_per_recipe": 2},
                                    {"rng": "rng", "n_recipes": "int", "noise": "nonneg",
                                     "max_sauces_per_recipe": "int"}),
        "cookbook.gap_rank": S(CB.gap_rank, lambda: {"M": w0(), "min_gap": 10.0}, {"M": "free", "min_gap": "pos"}),
        "cookbook.rank_view": S(CB.rank_view, lambda: {"M": w0(), "r": 2}, {"M": "free", "r": "rank"}),
        "cookbook.spectrum": S(CB.spectrum, lambda: {"M": w0()}, {"M": "free"}),
        "cookbook.truncated_rows": S(CB.truncated_rows, lambda: {"spec": CB.spectrum(w0()), "r": 2, "rows": 3},
                                     {"spec": "obj", "r": "rank", "rows": "int"}),
        "cookbook.rank_view_from": S(CB.rank_view_from, lambda: {"spec": CB.spectrum(w0()), "r": 2},
                                     {"spec": "obj", "r": "rank"}),
        # drift
        "drift.log_checkpoints": S(DR.log_checkpoints, lambda: {"n_max": 100, "per_decade": 2},
                                   {"n_max": "int", "per_decade": "int"}),
        "drift.switching_drift": S(DR.switching_drift, lambda: {"W0": w0(), "adapters": [ad0, ad1],
                                                                "checkpoints": [1, 3], "rng": rng()},
                                   {"W0": "array", "adapters": "seq", "checkpoints": "ints", "rng": "rng"}),
        "drift.growth_exponent": S(DR.growth_exponent,
                                   lambda: {"result": DR.DriftResult(np.array([1, 10, 100]),
                                                                     np.array([1e-7, 1e-6, 1e-5]),
                                                                     np.zeros(3)), "start": 1},
                                   {"result": "obj", "start": "int"}),
        # storage
        "storage.storage_costs": S(ST.storage_costs, lambda: {"n_params": 1e6, "n_tasks": 3, "d_model": 64,
                                                              "n_layers": 2, "matrices_per_layer": 2, "r": 4},
                                   {"n_params": "pos", "n_tasks": "int", "d_model": "int", "n_layers": "int",
                                    "matrices_per_layer": "int", "r": "rank"}),
        "storage.storage_table": S(ST.storage_table, lambda: {"n_params": 1e6, "n_tasks": 3, "d_model": 64,
                                                              "n_layers": 2, "matrices_per_layer": 2, "r": 4,
                                                              "adapter_params": 1e4},
                                   {"n_params": "pos", "n_tasks": "int", "d_model": "int", "n_layers": "int",
                                    "matrices_per_layer": "int", "r": "rank", "adapter_params": "pos"}),
        "storage.calculator_rows": S(ST.calculator_rows, lambda: {"model": "GPT-3 (175B)", "n_tasks": 3, "r": 4,
                                                                  "matrices_per_layer": 2},
                                     {"model": "choice", "n_tasks": "int", "r": "rank", "matrices_per_layer": "int"}),
        "storage.format_storage_table": S(ST.format_storage_table, lambda: {"rows": ST.storage_table(
                                              1e6, 3, 64, 2, 2, 4)}, {"rows": "seq"}),
        # update_size
        "update_size.make_setup": S(US.make_setup, lambda: {"seed": 0, "d": 6, "k": 5, "n": 8, "true_rank": 1,
                                                            "max_r": 4, "draws": 2, "init_std": 0.3},
                                    {"seed": "int0", "d": "int", "k": "int", "n": "int", "true_rank": "rank",
                                     "max_r": "rank", "draws": "int", "init_std": "pos"}),
        "update_size.one_step_delta": S(US.one_step_delta, lambda: {"setup": one_step_setup(), "r": 2, "scale": 0.5,
                                                                    "lr": 0.01, "optimizer": "sgd", "draw": 0},
                                        {"setup": "obj", "r": "int", "scale": "scale", "lr": "pos",
                                         "optimizer": "choice", "draw": "int0"}),
        "update_size.update_size": S(US.update_size, lambda: {"setup": one_step_setup(), "r": 2, "scale": 0.5,
                                                              "lr": 0.01, "optimizer": "sgd"},
                                     {"setup": "obj", "r": "int", "scale": "pos", "lr": "pos", "optimizer": "choice"}),
        "update_size.update_size_curves": S(US.update_size_curves, lambda: {"setup": one_step_setup(),
                                                                            "ranks": [1, 2], "alpha": 2.0,
                                                                            "lr": 0.01, "optimizer": "sgd"},
                                            {"setup": "obj", "ranks": "seq", "alpha": "pos", "lr": "pos",
                                             "optimizer": "choice"}),
        "update_size.unit_scale_sizes": S(US.unit_scale_sizes, lambda: {"setup": one_step_setup(), "ranks": [1, 2],
                                                                        "lr": 0.01, "optimizer": "sgd"},
                                          {"setup": "obj", "ranks": "seq", "lr": "pos", "optimizer": "choice"}),
        "update_size.rescale_sizes": S(US.rescale_sizes, lambda: {"unit": unit_sizes(), "ranks": [1, 2], "alpha": 2.0,
                                                                  "optimizer": "sgd"},
                                       {"unit": "map", "ranks": "seq", "alpha": "pos", "optimizer": "choice"}),
        "update_size.size_limits": S(US.size_limits, lambda: {"units": {"sgd": unit_sizes(),
                                                                        "adam": unit_sizes("adam")},
                                                              "ranks": [1, 2], "alphas": [1.0, 32.0], "pad": 1.5},
                                     {"units": "map", "ranks": "seq", "alphas": "seq", "pad": "pos"}),
        # toy_regression
        "toy_regression.make_task": S(TR.make_task, lambda: {"rng": rng(), "d": 6, "k": 5, "n": 8, "true_rank": 2,
                                                             "delta_size": 1.0},
                                      {"rng": "rng", "d": "int", "k": "int", "n": "int", "true_rank": "rank",
                                       "delta_size": "pos"}),
        "toy_regression.mse_loss": S(TR.mse_loss, lambda: {"H": xs(), "Y": xs(seed=5)},
                                     {"H": "array+batch", "Y": "array"}),
        "toy_regression.scale_for": S(TR.scale_for, lambda: {"scaling": "alpha_over_r", "r": 4, "alpha": 8.0},
                                      {"scaling": "choice", "r": "int", "alpha": "pos"}),
        "toy_regression.init_factors": S(TR.init_factors, lambda: {"d": 4, "k": 3, "r": 2, "rng": rng(),
                                                                   "init": "paper", "std": 0.01},
                                         {"d": "int", "k": "int", "r": "rank", "rng": "rng", "init": "choice",
                                          "std": "pos"}),
        "toy_regression.train_lora": S(TR.train_lora, lambda: {"task": TR.make_task(rng(), d=6, k=5, n=8), "r": 2,
                                                               "rng": rng(), "steps": 3, "lr": 0.1, "alpha": 2.0,
                                                               "init_std": 0.01, "optimizer": "adam"},
                                       {"task": "obj", "r": "rank", "rng": "rng", "steps": "int", "lr": "pos",
                                        "alpha": "pos", "init_std": "pos", "optimizer": "choice"}),
        # latency_overhead
        "latency_overhead.overhead_percent": S(LO.overhead_percent, lambda: {"baseline_ms": 10.0, "variant_ms": 12.0},
                                               {"baseline_ms": "pos", "variant_ms": "pos"}),
        "latency_overhead.overhead_rows": S(LO.overhead_rows, lambda: {"table": {(1, 8): {"Fine-Tune/LoRA": 2.0,
                                                                                          "x": 3.0}}},
                                            {"table": "map"}),
        # targets_widget
        "targets_widget.budget_report": S(TW.budget_report, lambda: {"targets": ("q", "v"), "r": 4,
                                                                     "measured": {"Wq,Wv r=4": (50.0, 1.0)},
                                                                     "toy_d_model": 64, "toy_layers": 1},
                                          {"targets": "seq", "r": "int", "measured": "map", "toy_d_model": "int",
                                           "toy_layers": "int"}),
        "targets_widget.budget_html": S(TW.budget_html, lambda: {"report": TW.budget_report(("q",), 8),
                                                                 "measured": {"Wq r=8": (50.0, 1.0)}},
                                        {"report": "map", "measured": "map"}),
        # targets_experiment
        "targets_experiment.config_name": S(TE.config_name, lambda: {"targets": ("q", "v"), "r": 4},
                                            {"targets": "seq", "r": "int"}),
        "targets_experiment.PointerTask": S(TE.PointerTask, lambda: {"n_content": 8, "seq_len": 4, "shift": 1,
                                                                     "n_groups": 2},
                                            {"n_content": "int", "seq_len": "int", "shift": "int0", "n_groups": "int"}),
        "targets_experiment.PointerTask.sample": S(lambda n, rng: TE.PointerTask(8, 4).sample(n, rng),
                                                   lambda: {"n": 5, "rng": rng()}, {"n": "int", "rng": "rng"}),
        "targets_experiment.Setting": S(TE.Setting, lambda: {"d_model": 16, "n_heads": 2, "steps": 5, "lr": 0.01,
                                                             "seeds": (0,), "ranks": (1, 2)},
                                        {"d_model": "int", "n_heads": "int", "steps": "int", "lr": "pos",
                                         "seeds": "seq", "ranks": "seq"}),
        "targets_experiment.Setting.model_config": S(lambda n_classes: TE.TINY.model_config(n_classes),
                                                     lambda: {"n_classes": 4}, {"n_classes": "int"}),
        "targets_experiment.Run.delta": S(lambda layer, target: tiny_experiment().select("lora", ("q", "v"), 2)[0]
                                          .delta(layer, target), lambda: {"layer": 0, "target": "q"},
                                          {"layer": "int0", "target": "choice"}),
        "targets_experiment.pretrain": S(TE.pretrain, lambda: {"setting": tiny_experiment().setting},
                                         {"setting": "obj"}),
        "targets_experiment.adapt": S(TE.adapt, lambda: {"setting": tiny_experiment().setting, "method": "lora",
                                                         "targets": ("q",), "r": 2, "seed": 0},
                                      {"setting": "obj", "method": "choice", "targets": "seq", "r": "rank",
                                       "seed": "int0"}),
        "targets_experiment.planned_runs": S(TE.planned_runs, lambda: {"setting": TE.TINY}, {"setting": "obj"}),
        "l03_experiment.Experiment.select": S(lambda method, targets, r:
                                                  tiny_experiment().select(method, targets, r),
                                                  lambda: {"method": "lora", "targets": ("q", "v"), "r": 2},
                                                  {"method": "choice", "targets": "seq", "r": "int"}),
        "l03_experiment.Experiment.stats": S(lambda method, targets, r: tiny_experiment().stats(method, targets, r),
                                                 lambda: {"method": "lora", "targets": ("q", "v"), "r": 2},
                                                 {"method": "choice", "targets": "seq", "r": "int"}),
        "l03_experiment.Experiment.subspace_grids": S(lambda seed, layer, r_small, r_large:
                                                          tiny_experiment().subspace_grids(seed, layer, r_small,
                                                                                           r_large),
                                                          lambda: {"seed": 0, "layer": 0, "r_small": 1, "r_large": 8},
                                                          {"seed": "int0", "layer": "int0", "r_small": "int",
                                                           "r_large": "int"}),
        "l03_experiment.Experiment.amplification": S(lambda r, seed, layer:
                                                         tiny_experiment().amplification(r, seed, layer),
                                                         lambda: {"r": 2, "seed": 0, "layer": 0},
                                                         {"r": "int", "seed": "int0", "layer": "int0"}),
        "l03_experiment.run_experiment": S(TX.run_experiment, lambda: {"setting": tiny_experiment().setting,
                                                                           "progress": len},
                                               {"setting": "obj", "progress": "fn"}),
        "l03_plots.plot_subspace": S(lambda grids, crop: plot(TP.plot_subspace, grids, crop),
                                              lambda: {"grids": {"q": np.eye(2, 4)}, "crop": 2},
                                              {"grids": "map", "crop": "int"}),
        "l03_plots.plot_rank_sweep": S(lambda exp: plot(TP.plot_rank_sweep, exp),
                                                lambda: {"exp": tiny_experiment()}, {"exp": "obj"}),
        "l03_findings.finding_claims": S(TF.finding_claims, lambda: {"exp": tiny_experiment(), "r_small": 2,
                                                                           "r_large": 8},
                                               {"exp": "obj", "r_small": "int", "r_large": "int"}),
        "l03_findings.findings_summary": S(TF.findings_summary,
                                                 lambda: {"claims": TF.finding_claims(tiny_experiment())},
                                                 {"claims": "seq"}),
        # project_data
        "project_data.make_network": S(PD.make_network, lambda: {"rng": rng(), "d": 3, "d_ff": 4, "weight_std": 0.3,
                                                                 "bias_std": 0.1},
                                       {"rng": "rng", "d": "int", "d_ff": "int", "weight_std": "nonneg",
                                        "bias_std": "nonneg"}),
        "project_data.hidden": S(PD.hidden, lambda: {"X": xs(), "net": net()}, {"X": "array+batch", "net": "obj"}),
        "project_data.network_forward": S(PD.network_forward, lambda: {"X": xs(), "net": net()},
                                          {"X": "array+batch", "net": "obj"}),
        "project_data.label": S(PD.label, lambda: {"task": "A", "X": xs()}, {"task": "choice", "X": "free"}),
        "project_data.make_tasks": S(PD.make_tasks, lambda: {"rng": rng(), "n_train": 5, "n_test": 4, "d": 3},
                                     {"rng": "rng", "n_train": "int", "n_test": "int", "d": "int"}),
        "project_data.bce_with_logits": S(PD.bce_with_logits, lambda: {"logits": np.array([0.5, -1.0, 2.0]),
                                                                       "y": np.array([1.0, 0.0, 1.0])},
                                          {"logits": "array+batch", "y": "array"}),
        "project_data.sigmoid": S(PD.sigmoid, lambda: {"z": xs()}, {"z": "anynd"}),
        "project_data.ClassificationHead": S(lambda d, rng, init_std: vars(PD.ClassificationHead(d, rng, init_std)),
                                             lambda: {"d": 3, "rng": rng(), "init_std": 0.01},
                                             {"d": "int", "rng": "rng", "init_std": "nonneg"}),
        "project_data.ClassificationHead.forward": S(lambda out: head().forward(out), lambda: {"out": xs()},
                                                     {"out": "array+batch"}),
        "project_data.ClassificationHead.backward": S(lambda dlogits, cache: head().backward(dlogits, cache),
                                                      lambda: {"dlogits": np.ones(5), "cache": xs()},
                                                      {"dlogits": "grad", "cache": "array"}),
        "project_data.ClassificationHead.update": S(lambda lr: head().update(lr), lambda: {"lr": 0.1}, {"lr": "pos"}),
        "project_data.ClassificationHead.predict": S(lambda out: head().predict(out), lambda: {"out": xs()},
                                                     {"out": "array+batch"}),
        "project_data.train_head": S(lambda features, y, head, epochs, lr: vars(PD.train_head(features, y, head, epochs,
                                                                                              lr)),
                                     lambda: {"features": xs(), "y": np.array([1.0, 0.0, 1.0, 0.0, 1.0]),
                                              "head": head(), "epochs": 3, "lr": 0.1},
                                     {"features": "array+batch", "y": "array", "head": "obj", "epochs": "int",
                                      "lr": "pos"}),
        "project_data.accuracy": S(PD.accuracy, lambda: {"pred": np.array([1.0, 0.0, 1.0]),
                                                         "y": np.array([1.0, 1.0, 1.0])},
                                   {"pred": "array", "y": "array+batch"}),
        # latency
        "latency.paper_case": S(LA.paper_case, lambda: {"batch": 1, "seq": 32, "seq_scale": 4},
                                {"batch": "int", "seq": "int", "seq_scale": "int"}),
        "latency.paper_overhead": S(LA.paper_overhead, lambda: {"case": (1, 128), "variant": "adapter_h"},
                                    {"case": "seq", "variant": "text"}),
        "latency.CaseTiming.overhead": S(lambda variant: case_timing().overhead(variant), lambda: {"variant": "lora"},
                                         {"variant": "choice"}),
        "latency.measure_cases": S(LA.measure_cases, lambda: {"models": BL.build_variants(stack_cfg(), rng(), r=2,
                                                                                          variants=("frozen", "lora")),
                                                              "cases": [(1, 4)], "rng": rng(), "threads": 1,
                                                              "target_halfwidth": 0.02, "max_seconds": 1.0,
                                                              "min_rounds": 2, "max_rounds": 2, "seq_scale": 4,
                                                              "measure": TI.wall_clock, "progress": None},
                                   {"models": "map", "cases": "seq", "rng": "rng", "threads": "int",
                                    "target_halfwidth": "nonneg", "max_seconds": "nonneg", "min_rounds": "int",
                                    "max_rounds": "int", "seq_scale": "int", "measure": "fn", "progress": "fn"},
                                   deterministic=False),
        "latency.format_table": S(LA.format_table, lambda: {"cases": [case_timing()], "labels": {"lora": "LoRA"}},
                                  {"cases": "seq", "labels": "map"}),
        "latency.statements": S(LA.statements, lambda: {"cases": [case_timing()]}, {"cases": "seq"}),
        "l04_cost_model.extra_cost_features": S(CM.extra_cost_features, lambda: {"variant": "lora", "tokens": 10,
                                                                          "d_model": 16, "n_layers": 2, "r": 4,
                                                                          "bottleneck": 3},
                                         {"variant": "choice", "tokens": "int", "d_model": "int", "n_layers": "int",
                                          "r": "int", "bottleneck": "int0"}),
        "l04_cost_model.CostModel": S(CM.CostModel, lambda: {"per_mac": 1e-9, "per_op": 5e-6},
                               {"per_mac": "nonneg", "per_op": "nonneg"}),
        "l04_cost_model.CostModel.parts": S(lambda features: CM.CostModel(1e-9, 5e-6).parts(features),
                                     lambda: {"features": np.array([1e4, 20.0])}, {"features": "array"}),
        "l04_cost_model.CostModel.predict": S(lambda features: CM.CostModel(1e-9, 5e-6).predict(features),
                                       lambda: {"features": np.array([1e4, 20.0])}, {"features": "array"}),
        "l04_cost_model.extra_seconds": S(CM.extra_seconds, lambda: {"case": case_timing(), "variant": "lora"},
                                   {"case": "obj", "variant": "choice"}),
        "l04_cost_model.seconds_per_mac": S(CM.seconds_per_mac, lambda: {"n": 8, "d": 4, "rng": rng(), "rounds": 2,
                                                                  "threads": 1, "measure": TI.wall_clock},
                                     {"n": "int", "d": "int", "rng": "rng", "rounds": "int", "threads": "int",
                                      "measure": "fn"}, deterministic=False),
        "l04_cost_model.fit_cost_model": S(CM.fit_cost_model,
                                           lambda: {"cases": [case_timing()], "features": cost_features,
                                                                "per_mac": 1e-9,
                                                                "variants": ("lora", "adapter_l", "adapter_h")},
                                    {"cases": "seq", "features": "fn", "per_mac": "nonneg", "variants": "seq"}),
        "l04_cost_model.format_cost_model": S(CM.format_cost_model, lambda: {"model": CM.CostModel(1e-9, 5e-6),
                                                                      "cases": [case_timing()],
                                                                      "features": cost_features,
                                                                      "variants": ("lora", "adapter_h")},
                                       {"model": "obj", "cases": "seq", "features": "fn", "variants": "seq"}),
        "l04_claims.latency_claims": S(LCL.latency_claims, lambda: {"cases": [case_timing(1, 32, 0),
                                                                          case_timing(32, 128, 1)],
                                                                "arithmetic": {(1, 32): {"lora": 0.02,
                                                                                         "adapter_h": 0.03}},
                                                                "rng": rng(), "merged_tolerance": 0.05},
                                    {"cases": "seq", "arithmetic": "map", "rng": "rng", "merged_tolerance": "pos"}),
        "l04_claims.latency_summary": S(LCL.latency_summary, lambda: {"claims": LCL.latency_claims(
                                         [case_timing(1, 32, 0), case_timing(32, 128, 1)], rng=rng())},
                                     {"claims": "seq"}),
        "l04_cost_model.flops_per_token": S(CM.flops_per_token,
                                            lambda: {"d_model": 8, "d_ff": 32, "n_layers": 2, "seq": 4,
                                                                  "extra": "lora", "r": 2, "bottleneck": 3},
                                     {"d_model": "int", "d_ff": "int", "n_layers": "int", "seq": "int",
                                      "extra": "choice", "r": "int", "bottleneck": "int0"}),
        # blas_threads, plotting
        # measure.timing
        "timing.wall_clock": S(TI.wall_clock, lambda: {"fn": lambda: None}, {"fn": "fn"}, deterministic=False),
        "timing.time_rounds": S(TI.time_rounds, lambda: {"variants": timed_fns(), "rounds": 2, "rng": rng(),
                                                         "warmup": 1, "measure": TI.wall_clock},
                                {"variants": "map", "rounds": "int", "rng": "rng", "warmup": "int0",
                                 "measure": "fn"}, deterministic=False),
        "timing.Interval.contains": S(lambda x: interval().contains(x), lambda: {"x": 1.02}, {"x": "scale"}),
        "timing.bootstrap_median": S(TI.bootstrap_median, lambda: {"x": times()["lora"], "rng": rng(), "n_boot": 50,
                                                                   "level": 0.95},
                                     {"x": "free+batch", "rng": "rng", "n_boot": "int", "level": "pos"}),
        "timing.ratio_intervals": S(TI.ratio_intervals, lambda: {"times": times(), "baseline": "frozen", "rng": rng(),
                                                                 "n_boot": 50, "level": 0.95},
                                    {"times": "map", "baseline": "choice", "rng": "rng", "n_boot": "int",
                                     "level": "pos"}),
        "timing.time_until_resolved": S(TI.time_until_resolved,
                                        lambda: {"variants": timed_fns(), "baseline": "frozen", "rng": rng(),
                                                 "min_rounds": 2, "max_rounds": 4, "target_halfwidth": 0.5,
                                                 "max_seconds": 1.0, "batch": 2, "measure": TI.wall_clock,
                                                 "progress": lambda n: None},
                                        {"variants": "map", "baseline": "choice", "rng": "rng", "min_rounds": "int",
                                         "max_rounds": "int", "target_halfwidth": "nonneg", "max_seconds": "nonneg",
                                         "batch": "int", "measure": "fn", "progress": "fn"}, deterministic=False),
        "timing.certainty": S(TI.certainty, lambda: {"interval": interval(), "target_halfwidth": 0.02},
                              {"interval": "obj", "target_halfwidth": "nonneg"}),
        "timing.Comparison.median_seconds": S(lambda name: comparison().median_seconds(name), lambda: {"name": "lora"},
                                              {"name": "choice"}),
        "timing.Comparison.ratio_between": S(lambda name, other, rng: comparison().ratio_between(name, other, rng=rng),
                                             lambda: {"name": "adapter_h", "other": "adapter_l", "rng": rng()},
                                             {"name": "choice", "other": "choice", "rng": "rng"}),
        "timing.compare": S(TI.compare, lambda: {"variants": timed_fns(), "baseline": "frozen", "rng": rng(),
                                                 "threads": 1, "min_rounds": 2, "max_rounds": 2,
                                                 "target_halfwidth": 0.02, "max_seconds": 1.0, "batch": 1,
                                                 "measure": TI.wall_clock, "progress": None},
                            {"variants": "map", "baseline": "choice", "rng": "rng", "threads": "int",
                             "min_rounds": "int", "max_rounds": "int", "target_halfwidth": "nonneg",
                             "max_seconds": "nonneg", "batch": "int", "measure": "fn", "progress": "fn"},
                            deterministic=False),
        "timing.repeated": S(TI.repeated, lambda: {"fn": lambda: None, "number": 3}, {"fn": "fn", "number": "int"}),
        # measure.verdicts
        "verdicts.above": S(VD.above, lambda: {"interval": interval(), "threshold": 1.0},
                            {"interval": "obj", "threshold": "scale"}),
        "verdicts.below": S(VD.below, lambda: {"interval": interval(), "threshold": 1.2},
                            {"interval": "obj", "threshold": "scale"}),
        "verdicts.within": S(VD.within, lambda: {"interval": interval(), "target": 1.0, "tolerance": 0.2},
                             {"interval": "obj", "target": "scale", "tolerance": "pos"}),
        "verdicts.bootstrap_mean_difference": S(VD.bootstrap_mean_difference,
                                                lambda: {"a": times()["lora"], "b": times()["frozen"], "rng": rng(),
                                                         "paired": True, "n_boot": 50, "level": 0.95},
                                                {"a": "free+batch", "b": "array", "rng": "rng", "paired": "bool",
                                                 "n_boot": "int", "level": "pos"}),
        "verdicts.bootstrap_difference": S(VD.bootstrap_difference,
                                           lambda: {"a": times()["lora"], "b": times()["frozen"], "rng": rng(),
                                                    "paired": True, "n_boot": 50, "level": 0.95,
                                                    "statistic": np.median},
                                           {"a": "free+batch", "b": "array", "rng": "rng", "paired": "bool",
                                            "n_boot": "int", "level": "pos", "statistic": "fn"}),
        "verdicts.t_quantile": S(VD.t_quantile, lambda: {"p": 0.975, "df": 4}, {"p": "pos", "df": "int"}),
        "verdicts.mean_interval": S(VD.mean_interval, lambda: {"x": times()["lora"], "level": 0.95},
                                    {"x": "free+batch", "level": "pos"}),
        "verdicts.Claim.say": S(lambda holds, fails, unresolved: a_claim().say(holds, fails, unresolved),
                                lambda: {"holds": "yes", "fails": "no", "unresolved": "cannot tell"},
                                {"holds": "text", "fails": "text", "unresolved": "text"}),
        "verdicts.claim": S(VD.claim, lambda: {"text": "merged costs what frozen costs", "interval": interval(),
                                               "test": "within", "threshold": 1.0, "tolerance": 0.2, "unit": "",
                                               "digits": 3},
                            {"text": "text", "interval": "obj", "test": "choice", "threshold": "scale",
                             "tolerance": "pos", "unit": "text", "digits": "int0"}),
        "verdicts.format_claims": S(VD.format_claims, lambda: {"claims": [a_claim(), a_claim()]}, {"claims": "seq"}),
        "verdicts.tally": S(VD.tally, lambda: {"claims": [a_claim(), a_claim()]}, {"claims": "seq"}),
        "blas_threads.limit_blas_threads": S(BT.limit_blas_threads, lambda: {"n": 1}, {"n": "int"}),
        "blas_threads.blas_threads": S(blas, lambda: {"n": 1}, {"n": "int"}),
        "plotting.figure": S(fig, lambda: {"ncols": 1, "nrows": 1, "width": 3.0, "height": 2.0, "sharey": False},
                             {"ncols": "int", "nrows": "int", "width": "pos", "height": "pos", "sharey": "choice"}),
        # live: the SVG / HTML pieces of the live widgets, and the panel
        "svg_axes.svg_text": S(SA.svg_text, lambda: {"label": "W_{q} < 1"}, {"label": "text"}),
        "svg_axes.nice_ticks": S(SA.nice_ticks, lambda: {"lo": 0.0, "hi": 100.0, "log": False, "max_ticks": 7},
                             {"lo": "scale", "hi": "scale", "log": "bool", "max_ticks": "int"}),
        "svg_axes.tick_label": S(SA.tick_label, lambda: {"value": 0.5, "log": False},
                                 {"value": "scale", "log": "bool"}),
        "svg_axes.Axis": S(lambda **kw: axis_view(SA.Axis(**kw)),
                       lambda: {"lo": 0.0, "hi": 100.0, "label": "error (%)", "log": False, "ticks": [0, 50, 100],
                                "tick_format": lambda v: f"{v:g} %"},
                       {"lo": "scale", "hi": "scale", "label": "text", "log": "bool", "ticks": "seq",
                        "tick_format": "fn"}),
        "svg_axes.Axis.fraction": S(lambda values: SA.Axis(1.0, 100.0, "y", log=True).fraction(values),
                                lambda: {"values": np.array([1.0, 10.0, 100.0])}, {"values": "anynd+nanok"}),
        "svg_axes.Axis.tick_text": S(lambda value: SA.Axis(1.0, 1e6, "y", log=True).tick_text(value),
                                 lambda: {"value": 100.0}, {"value": "scale"}),
        "svg_charts.Series": S(lambda **kw: SC.line_chart([SC.Series(**kw)], SA.Axis(0, 3, "x"), an_axis()),
                         lambda: {"x": np.array([0.0, 1.0, 2.0, 3.0]), "y": np.array([1.0, 20.0, 40.0, 80.0]),
                                  "color": "#0072B2", "label": "curve", "dash": "6 3", "line": True, "marker": 2.0,
                                  "edge": "black", "width": 2.0},
                         {"x": "free+nanok", "y": "array+nanok", "color": "text", "label": "text", "dash": "text",
                          "line": "bool", "marker": "nonneg", "edge": "text", "width": "pos"}),
        "svg_axes.Frame": S(lambda **kw: (SA.Frame(**kw).inner_width, SA.Frame(**kw).inner_height),
                        lambda: {"width": 380, "height": 280, "margin": dict(SA.MARGIN)},
                        {"width": "int", "height": "int", "margin": "map"}),
        "svg_charts.line_chart": S(SC.line_chart, lambda: {"series": [a_series()], "xaxis": SA.Axis(0, 3, "x"),
                                                     "yaxis": an_axis(), "title": "error", "width": 380,
                                                     "height": 280, "legend": "upper right", "name": "line"},
                             {"series": "seq", "xaxis": "obj", "yaxis": "obj", "title": "text", "width": "int",
                              "height": "int", "legend": "choice", "name": "text"}),
        "svg_charts.barh_chart": S(SC.barh_chart, lambda: {"labels": ["full", "lora"], "values": np.array([1e15, 1e11]),
                                                     "xaxis": SA.Axis(1e8, 1e15, "bytes", log=True),
                                                     "texts": ["1 PB", "100 GB"], "colors": ["#0072B2", "#009E73"],
                                                     "title": "storage", "width": 600, "height": 120,
                                                     "name": "bars"},
                             {"labels": "seq", "values": "array", "xaxis": "obj", "texts": "seq", "colors": "seq",
                              "title": "text", "width": "int", "height": "int", "name": "text"}),
        "svg_colormap.colormap_rgb": S(SM.colormap_rgb, lambda: {"fractions": np.array([[0.0, 0.5], [1.0, 0.25]])},
                               {"fractions": "anynd+nanok"}),
        "svg_colormap.colormap": S(SM.colormap, lambda: {"fractions": np.array([0.0, 0.5, 1.0])},
                                   {"fractions": "anynd+nanok"}),
        "svg_colormap.png_bytes": S(SM.png_bytes, lambda: {"rgb": SM.colormap_rgb(np.array([[0.0, 0.5], [1.0, 0.25]]))},
                            {"rgb": "free"}),
        "svg_charts.heatmap": S(SC.heatmap, lambda: {"values": xs(), "vmin": -3.0, "vmax": 3.0, "title": "M",
                                               "xlabel": "column", "ylabel": "row", "colorbar": "value",
                                               "width": 330, "height": 280, "name": "M"},
                          {"values": "free", "vmin": "scale", "vmax": "scale", "title": "text", "xlabel": "text",
                           "ylabel": "text", "colorbar": "text", "width": "int", "height": "int", "name": "text"}),
        "live.side_by_side": S(lambda first, second: LV.side_by_side(first, second),
                               lambda: {"first": "<svg/>", "second": "<svg></svg>"},
                               {"first": "text", "second": "text"}, names={"first": "svgs", "second": "svgs"}),
        "live.legend_row": S(LV.legend_row, lambda: {"entries": [("LoRA", "#0072B2", None), ("r", "#fff", "dot")]},
                             {"entries": "seq"}),
        "live.text_block": S(LV.text_block, lambda: {"lines": ["a", "b < c"], "min_lines": 3},
                             {"lines": "seq", "min_lines": "int0"}),
        "live.wrap_output": S(LV.wrap_output, lambda: {"body": "<p>x</p>", "kernel_ms": 1.5},
                              {"body": "text", "kernel_ms": "nonneg"}),
        "live.live_panel": S(live_panel_html, live_panel_args,
                             {"controls": "map", "render": "fn", "min_height": "text", "arrange": "seq"}),
    }
    table.update(contract_class_specs(S))
    return {name: spec for name, spec in table.items() if spec.call is not None}   # older versions lack some


def _v(module, name: str):
    """A function of ``module``, or None where this version of the package does not have it."""
    return getattr(module, name, None)


# ------------------------------------------------------------------ bad values per kind
def _inject(a: np.ndarray, value: float, index: int = 0) -> np.ndarray:
    b = np.array(a, dtype=float, copy=True)
    if b.size:
        b.flat[index % b.size] = value
    return b


def array_mutations(kind: str, v, index: int = 0) -> list[tuple[str, object, str]]:
    """(label, bad value, expected outcome) for an array argument ``v`` of ``kind``."""
    base = kind.split("+")[0]
    a = np.asarray(v)
    out: list[tuple[str, object, str]] = []
    if base == "ints":
        out += [("as floats", a.astype(float) + 0.5, REJECT), ("negative id", _neg(a), REJECT),
                ("strings", a.astype(str), REJECT), ("None", None, REJECT), ("list", a.tolist(), SAME),
                ("extra axis", a[None], REJECT)]
        return out
    if a.size:
        nonfinite = EITHER if "+nanok" in kind else REJECT
        out += [("NaN entry", _inject(a, np.nan, index), nonfinite),
                ("inf entry", _inject(a, np.inf, index), nonfinite)]
    out += [("strings", a.astype(str), REJECT), ("None", None, REJECT), ("booleans", a > 0, REJECT),
            ("complex", a + 1j, REJECT), ("list", a.tolist(), SAME)]
    if base in ("array", "free", "grad"):
        out.append(("extra axis", a[None], REJECT))
        if a.ndim >= 1:
            out.append(("one axis fewer", a.reshape(-1)[0] if a.ndim == 1 else a.reshape(-1), REJECT))
    if base in ("array", "grad") and a.ndim >= 1 and a.shape[-1] > 1:
        out.append(("last axis one shorter", a[..., :-1], REJECT))
    if base == "grad" and a.ndim >= 1:
        out.append(("first axis one longer", np.concatenate([a, a[:1]], axis=0), REJECT))
    if "+batch" in kind and a.ndim >= 1:
        out.append(("empty batch", a[:0], EITHER))
    return out


def _neg(a: np.ndarray) -> np.ndarray:
    b = np.array(a, copy=True)
    b.flat[0] = -1
    return b


class _NotAGenerator:
    pass


SCALAR_MUTATIONS: dict[str, list[tuple[str, object, str]]] = {
    "int": [("zero", 0, REJECT), ("negative", -3, REJECT), ("float", 2.5, REJECT), ("string", "3", REJECT),
            ("bool", True, REJECT), ("None", None, REJECT), ("array", np.array([2, 3]), REJECT)],
    "int0": [("negative", -3, REJECT), ("float", 0.5, REJECT), ("string", "0", REJECT), ("None", None, REJECT),
             ("array", np.array([0, 1]), REJECT)],
    "rank": [("zero", 0, REJECT), ("negative", -1, REJECT), ("above min(d, k)", 10**6, REJECT),
             ("float", 1.5, REJECT), ("string", "2", REJECT), ("bool", True, REJECT)],
    "scale": [("NaN", np.nan, REJECT), ("inf", np.inf, REJECT), ("string", "0.5", REJECT), ("None", None, REJECT),
              ("broadcasting array", np.array([0.5, 1.0]), REJECT), ("complex", 0.5j, REJECT)],
    "pos": [("zero", 0.0, REJECT), ("negative", -1.0, REJECT), ("NaN", np.nan, REJECT), ("inf", np.inf, REJECT),
            ("string", "0.1", REJECT), ("None", None, REJECT), ("array", np.array([0.1, 0.2]), REJECT)],
    "nonneg": [("negative", -1.0, REJECT), ("NaN", np.nan, REJECT), ("inf", np.inf, REJECT),
               ("string", "1", REJECT), ("None", None, REJECT)],
    "rng": [("None", None, REJECT), ("int seed", 0, REJECT), ("RandomState", np.random.RandomState(0), REJECT),
            ("string", "rng", REJECT), ("other object", _NotAGenerator(), REJECT)],
    "choice": [("unknown name", "nonsense", REJECT), ("int", 3, REJECT), ("None", None, REJECT),
               ("list", ["a"], REJECT), ("array", np.array([1, 2]), REJECT)],
    "bool": [("string", "yes", REJECT), ("int 2", 2, REJECT), ("None", None, REJECT)],
    "obj": [("None", None, REJECT), ("int", 3, REJECT), ("string", "x", REJECT), ("dict", {}, REJECT)],
    "map": [("list", [1, 2], REJECT), ("string", "x", REJECT), ("int", 3, REJECT)],
    "seq": [("string", "abc", REJECT), ("int", 3, REJECT), ("None", None, REJECT), ("dict", {"a": 1}, REJECT)],
    "fn": [("int", 3, REJECT), ("string", "f", REJECT), ("None", None, REJECT)],
    "adapter": [("None", None, REJECT), ("two items", (np.ones((2, 3)), np.ones((4, 2))), REJECT),
                ("NaN scale", "nan-scale", REJECT), ("B rows broadcast", "b-one-row", REJECT),
                ("string scale", "str-scale", REJECT), ("int", 3, REJECT)],
    "cache": [("None", None, REJECT), ("empty tuple", (), REJECT), ("list", [1, 2], REJECT)],
    "text": [("None", None, REJECT), ("int", 3, REJECT), ("list", ["a"], REJECT), ("bytes", b"x", REJECT)],
}


def _adapter_variant(v, how: str):
    A, B, s = v
    if how == "nan-scale":
        return type(v)(A, B, float("nan")) if hasattr(v, "_fields") else (A, B, float("nan"))
    if how == "str-scale":
        return type(v)(A, B, "0.5") if hasattr(v, "_fields") else (A, B, "0.5")
    if how == "b-one-row":
        return type(v)(A, np.asarray(B)[:1], s) if hasattr(v, "_fields") else (A, np.asarray(B)[:1], s)
    raise AssertionError(how)


# "map", "seq", "obj" arguments whose None is a valid default (None must then give a result)
NONE_IS_VALID = {("targets_widget.budget_report", "measured"), ("targets_widget.budget_html", "measured"),
                 ("transformer.model_forward", "adapters"), ("attention.attention_forward", "loras"),
                 ("transformer.n_params", "names"), ("latency.paper_overhead", "case"),
                 ("latency.format_table", "labels"), ("cookbook.sauce_matrix", "sauces"),
                 ("latency_overhead.overhead_rows", "table"), ("attention.projection_forward", "lora"),
                 ("l03_experiment.run_experiment", "progress"), ("lowrank.matrix_rank", "tol"),
                 ("l03_plots.plot_subspace", "crop"), ("layer.scale_factor", "alpha"),
                 ("layer.LoRA", "alpha"), ("blocks.init_qv_loras", "alpha"), ("adam.Adam.step", "lr"),
                 ("storage.storage_table", "adapter_params"), ("transformer.init_adapters", "std"),
                 ("update_size.make_setup", "init_std"), ("toy_regression.train_lora", "alpha"),
                 ("targets_experiment.config_name", "r"), ("l03_experiment.Experiment.select", "r"),
                 ("l03_experiment.Experiment.stats", "r"), ("l03_experiment.Experiment.subspace_grids", "seed"),
                 ("l03_experiment.Experiment.amplification", "seed"),
                 ("targets_experiment.PointerTask", "n_groups"),
                 ("toy_regression.scale_for", "alpha"), ("merge.MergedWeight.switch_to", "adapter"),
                 ("latency.measure_cases", "threads"), ("latency.measure_cases", "progress"),
                 ("l04_cost_model.seconds_per_mac", "threads"), ("l04_claims.latency_claims", "arithmetic"),
                 ("timing.compare", "threads"), ("timing.compare", "progress"),
                 ("timing.time_until_resolved", "progress"), ("verdicts.Claim.say", "unresolved"),
                 ("l03_findings.finding_claims", "r_large"),
                 ("svg_axes.Axis", "ticks"), ("svg_axes.Axis", "tick_format"), ("svg_charts.Series", "label"),
                 ("svg_charts.Series", "dash"), ("svg_charts.Series", "edge"), ("svg_charts.line_chart", "legend"),
                 ("svg_charts.barh_chart", "texts"), ("svg_charts.barh_chart", "colors"),
                 ("svg_charts.barh_chart", "height"), ("svg_charts.heatmap", "colorbar"),
                 ("live.text_block", "min_lines"), ("live.live_panel", "min_height"), ("live.live_panel", "arrange")}
# Values that are valid for one argument although its kind would reject them.
ALSO_VALID = {("validation.check_int", "value", "zero"), ("validation.check_int", "value", "negative"),
              ("attention.softmax", "axis", "negative"), ("targets_experiment.PointerTask", "shift", "negative"),
              ("transformer.n_params", "names", "dict"), ("validation.check_instance", "value", "int"),
              ("targets_experiment.Setting.model_config", "n_classes", "array"),
              ("validation.check_mapping", "value", "dict"),
              ("validation.check_adapter", "adapter", "B rows broadcast")}
ALSO_VALID |= {("validation.check_shape", "x", label) for label in ("NaN entry", "inf entry", "strings", "booleans",
                                                                     "complex", "list")}


def mutations(name: str, spec: Spec, param: str, index: int = 0) -> list[tuple[str, object, str]]:
    """Every bad (or equivalent) value for ``param`` of ``name``, with its expected outcome."""
    kind = spec.kinds[param]
    v = spec.valid()[param]
    base = kind.split("+")[0]
    if base in ("array", "free", "anynd", "grad", "ints"):
        out = array_mutations(kind, v, index)
    else:
        out = []
        for label, bad, want in SCALAR_MUTATIONS[base]:
            if base == "adapter" and isinstance(bad, str):
                bad = _adapter_variant(v, bad)
            out.append((label, bad, want))
        if base in ("int", "int0", "rank") and isinstance(v, int) and not isinstance(v, bool):
            out.append(("numpy integer", np.int64(v), SAME))
        if base in ("pos", "nonneg", "scale") and isinstance(v, float):
            out.append(("numpy float", np.float64(v), SAME))
        if base == "seq" and isinstance(v, (list, tuple)):
            out.append(("other sequence type", tuple(v) if isinstance(v, list) else list(v),
                        REJECT if name == "targets_experiment.Setting" else SAME))
    return [(label, bad, expectation(name, param, label, bad, want)) for label, bad, want in out]


def expectation(name: str, param: str, label: str, bad, want: str) -> str:
    """``want`` for a bad value, relaxed to EITHER where that value is valid for this one argument."""
    if (name, param, label) in ALSO_VALID or (bad is None and (name, param) in NONE_IS_VALID):
        return EITHER
    return want


# Mutations that break agreement between two arguments: the error may name either of them.
MISMATCH = {"last axis one shorter", "first axis one longer", "empty batch"}


def message_names(message: str, param: str) -> bool:
    """Does an error message start with the parameter's name (optionally indexed or dotted)?"""
    return message.startswith(param) and message[len(param):len(param) + 1] in (":", ".", "[", ",", " ", "'", "(")


def same(a, b) -> bool:
    """Deep equality of results (arrays bit for bit, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b) and not isinstance(a, type):
        return type(a) is type(b) and same(vars(a), vars(b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if callable(a) and callable(b):
        return True
    if hasattr(a, "__dict__") and hasattr(b, "__dict__") and type(a) is type(b):
        return same(vars(a), vars(b))
    return bool(a == b)


# ------------------------------------------------------------------ the issue's concrete cases
def known_cases() -> list[tuple[str, str, Callable, str, object]]:
    """(function, case, thunk, parameter, REJECT or a predicate the result must satisfy) for the bad inputs
    the issue names: each must be rejected naming the parameter, or give the right answer."""

    def grad_of_squares(x):
        return G.numerical_gradient(lambda: float(np.sum(x.astype(float) ** 2)), x)

    W_int = np.arange(12).reshape(4, 3)
    ad0, ad1 = adapter(0), adapter(1)
    ad_b1 = M.Adapter(ad0.A, ad0.B[:1], 0.5)
    ids = np.array([0, 1, 0, 1, 1])
    X_int = np.arange(15).reshape(5, 3) % 4
    ref_float = ML.gathered(W_int.astype(float), ML.stack_adapters([ad0, ad1]), X_int.astype(float), ids)

    def adam_broadcast():
        params = {"A": np.ones((2, 3))}
        AD.Adam(["A"], lr=0.1).step(params, {"A": np.ones(3)})
        return params["A"]

    def logits_for(y):
        return np.eye(3)[y] * 5.0

    y = np.array([0, 2, 1, 1])
    rank1 = np.outer(np.arange(1.0, 5.0), np.arange(1.0, 5.0))
    return [
        ("gradcheck.numerical_gradient", "int array", lambda: grad_of_squares(np.array([1, 2, 3])), "x",
         lambda g: np.allclose(g, [2, 4, 6], rtol=1e-7)),
        ("gradcheck.numerical_gradient", "float32 array", lambda: grad_of_squares(np.array([1, 2, 3], np.float32)),
         "x", lambda g: np.allclose(g, [2, 4, 6], rtol=1e-7)),
        ("multi_lora.loop_per_adapter", "B of shape (1, r) broadcasts",
         lambda: ML.loop_per_adapter(w0(), [ad_b1, ad1], xs(), ids), "adapters", REJECT),
        ("multi_lora.merge_per_task", "integer W0 and X",
         lambda: ML.merge_per_task(W_int, [ad0, ad1], X_int, ids), "W0", lambda H: np.allclose(H, ref_float)),
        ("multi_lora.loop_per_adapter", "integer W0 and X",
         lambda: ML.loop_per_adapter(W_int, [ad0, ad1], X_int, ids), "W0", lambda H: np.allclose(H, ref_float)),
        ("merge.switch", "integer weight",
         lambda: M.switch(W_int, ad0, ad1), "W",
         lambda W: np.allclose(W, W_int + M.merged_delta(*ad1) - M.merged_delta(*ad0))),
        ("merge.MergedWeight.switch_to", "integer weight", lambda: M.MergedWeight(W_int).switch_to(ad1), "W0",
         lambda W: np.allclose(W, M.merge(W_int, ad1))),
        ("layer.lora_forward", "scale NaN", lambda: L.lora_forward(xs(), *factors(), np.nan), "scale", REJECT),
        ("layer.lora_forward", "scale a string", lambda: L.lora_forward(xs(), *factors(), "0.5"), "scale", REJECT),
        ("merge.merged_delta", "scale an array that broadcasts",
         lambda: M.merged_delta(*factors(), np.ones((4, 1))), "scale", REJECT),
        ("merge.merged_delta", "scale inf", lambda: M.merged_delta(*factors(), np.inf), "scale", REJECT),
        ("layer.lora_backward", "upstream gradient with NaN",
         lambda: L.lora_backward(_inject(xs(k=4), np.nan), L.lora_forward(xs(), *factors(), 0.5)[1]), "ddelta",
         REJECT),
        ("layer.linear_lora_backward", "upstream gradient with inf",
         lambda: L.linear_lora_backward(_inject(xs(k=4), np.inf),
                                        L.linear_lora_forward(xs(), w0(), *factors(), 0.5)[1]), "dH", REJECT),
        ("adam.Adam.step", "(k,) gradient for an (r, k) parameter", adam_broadcast, "grads", REJECT),
        ("analysis.amplification_factor", "r above rank(dW)",
         lambda: AN.amplification_factor(rank1, xs(n=4, k=4), 3), "r", REJECT),
        ("drift.switching_drift", "checkpoints [1.5, 3]",
         lambda: DR.switching_drift(w0(), [ad0, ad1], [1.5, 3], rng()), "checkpoints", REJECT),
        ("transformer.accuracy", "y of shape (N, 1)", lambda: T.accuracy(logits_for(y), y[:, None]), "y",
         lambda a: a == 1.0),
        ("transformer.softmax_cross_entropy", "label -1",
         lambda: T.softmax_cross_entropy(logits_for(y), np.array([0, 2, 1, -1])), "y", REJECT),
        ("layer.LoRA", "init_scale -1 reported as init_scale",
         lambda: L.LoRA(3, 4, 2, init_scale=-1.0, rng=rng()), "init_scale", REJECT),
        ("lowrank.lora_param_count", "d_model 0 reported as d_model", lambda: LR.lora_param_count(2, 0, 1),
         "d_model", REJECT),
        ("layer.lora_backward", "list upstream gradient",
         lambda: L.lora_backward(xs(k=4).tolist(), L.lora_forward(xs(), *factors(), 0.5)[1]), "ddelta",
         lambda g: all(same(a, b) for a, b in zip(g, L.lora_backward(xs(k=4), L.lora_forward(
             xs(), *factors(), 0.5)[1]), strict=True))),
        ("layer.linear_lora_backward", "list upstream gradient",
         lambda: L.linear_lora_backward(xs(k=4).tolist(), L.linear_lora_forward(xs(), w0(), *factors(), 0.5)[1]),
         "dH", lambda g: all(same(a, b) for a, b in zip(g, L.linear_lora_backward(xs(k=4), L.linear_lora_forward(
             xs(), w0(), *factors(), 0.5)[1]), strict=True))),
    ]


# ------------------------------------------------------------------ lesson 07: LoRA's descendants
MODULES.update({"dora": DO, "pissa": PI, "nf4": NF, "loraplus": LP, "l07_training": FT, "l07_experiments": FX,
                "l07_summary": FS})
RECORDS |= {"l07_training.FamilyRun", "l07_summary.SummaryRow"}
NONE_IS_VALID |= {("l07_training.train_adapter", "alpha"), ("l07_training.train_adapter", "base")}


def family_specs() -> dict[str, Spec]:
    """Specs of lesson 07's modules (DoRA, PiSSA, NF4, LoRA+ and the lesson's training, experiments, summary)."""
    S = Spec

    def dora_args():
        g = rng()
        W0 = g.normal(size=(4, 3))
        return {"W0": W0, "A": g.normal(size=(2, 3)), "B": g.normal(size=(4, 2)), "m": DO.dora_magnitude(W0),
                "scale": 0.5}

    def dora_cache():
        return DO.dora_forward(xs(), **dora_args())[1]

    def levels():
        return NF.nf4_levels()

    def task():
        return TR.make_task(rng(), d=6, k=5, n=8)

    def verdicts():
        return {"rsLoRA": "holds", "DoRA": "holds", "PiSSA": "holds", "LoRA+": "holds", "QLoRA (NF4 base)": "holds"}

    return {
        "dora.dora_magnitude": S(DO.dora_magnitude, lambda: {"W0": w0()}, {"W0": "free"}),
        "dora.dora_weight": S(DO.dora_weight, dora_args,
                              {"W0": "array", "A": "array", "B": "array", "m": "array", "scale": "scale"}),
        "dora.dora_forward": S(DO.dora_forward, lambda: {"X": xs(), **dora_args()},
                               {"X": "array+batch", "W0": "array", "A": "array", "B": "array", "m": "array",
                                "scale": "scale"}),
        "dora.dora_backward": S(DO.dora_backward, lambda: {"dH": xs(k=4), "cache": dora_cache(), "detach_norm": True},
                                {"dH": "grad", "cache": "cache", "detach_norm": "bool"}),
        "pissa.canonical_signs": S(PI.canonical_signs, lambda: {"A": factors()[0], "B": factors()[1]},
                                   {"A": "free", "B": "array"}),
        "pissa.pissa_init": S(PI.pissa_init, lambda: {"W0": w0(), "r": 2, "scale": 2.0},
                              {"W0": "free", "r": "rank", "scale": "pos"}),
        "nf4.nf4_levels": S(NF.nf4_levels, lambda: {"offset": 0.9677083}, {"offset": "pos"}),
        "nf4.quantize_blockwise": S(NF.quantize_blockwise, lambda: {"W": w0(), "levels": levels(), "block": 4},
                                    {"W": "anynd", "levels": "free", "block": "int"}),
        "nf4.dequantize_blockwise": S(NF.dequantize_blockwise,
                                      lambda: {"codes": np.arange(12) % 16, "absmax": np.array([1.0, 2.0, 0.5]),
                                               "levels": levels(), "shape": (4, 3), "block": 4},
                                      {"codes": "ints", "absmax": "array", "levels": "free", "shape": "seq",
                                       "block": "int"}),
        "nf4.double_quantize": S(NF.double_quantize, lambda: {"absmax": np.linspace(0.1, 1.0, 10), "block": 4},
                                 {"absmax": "free", "block": "int"}),
        "nf4.double_dequantize": S(NF.double_dequantize,
                                   lambda: {"codes": np.arange(10) - 5, "scales": np.array([0.1, 0.2, 0.3]),
                                            "mean": 0.5, "block": 4},
                                   {"codes": "ints", "scales": "array", "mean": "scale", "block": "int"}),
        "nf4.bits_per_parameter": S(NF.bits_per_parameter, lambda: {"block": 64, "double": True, "block2": 256},
                                    {"block": "int", "double": "bool", "block2": "int"}),
        "loraplus.loraplus_learning_rates": S(LP.loraplus_learning_rates, lambda: {"lr": 0.1, "ratio": 16.0},
                                              {"lr": "pos", "ratio": "pos"}),
        "loraplus.loraplus_sgd_step": S(LP.loraplus_sgd_step,
                                        lambda: {"A": factors()[0], "B": factors()[1], "dA": factors()[0] * 2,
                                                 "dB": factors()[1] * 2, "lr": 0.1, "ratio": 4.0},
                                        {"A": "array", "B": "array", "dA": "grad", "dB": "grad", "lr": "pos",
                                         "ratio": "pos"}),
        "l07_training.nf4_base": S(FT.nf4_base, lambda: {"W0": w0(), "block": 4}, {"W0": "free", "block": "int"}),
        "l07_training.train_adapter": S(FT.train_adapter,
                                        lambda: {"task": task(), "method": "dora", "r": 2, "rng": rng(), "steps": 3,
                                                 "lr": 0.01, "ratio": 2.0, "alpha": 2.0, "rslora": False,
                                                 "init_std": 0.1, "base": task().W0 + 0.0},
                                        {"task": "obj", "method": "choice", "r": "rank", "rng": "rng", "steps": "int",
                                         "lr": "pos", "ratio": "pos", "alpha": "pos", "rslora": "bool",
                                         "init_std": "pos", "base": "array"}),
        "l07_training.steps_to": S(FT.steps_to, lambda: {"losses": np.array([1.0, 0.5, 0.005]), "fraction": 0.01},
                                   {"losses": "free", "fraction": "pos"}),
        "l07_experiments.principal_task": S(FX.principal_task,
                                            lambda: {"rng": rng(), "d": 6, "k": 5, "n": 8, "r": 2, "boost": 0.5},
                                            {"rng": "rng", "d": "int", "k": "int", "n": "int", "r": "int",
                                             "boost": "scale"}),
        "l07_experiments.rescaled_rows_task": S(FX.rescaled_rows_task,
                                                lambda: {"rng": rng(), "d": 6, "k": 5, "n": 8, "spread": 0.5},
                                                {"rng": "rng", "d": "int", "k": "int", "n": "int", "spread": "pos"}),
        "l07_experiments.rslora_experiment": S(FX.rslora_experiment,
                                               lambda: {"seeds": (0, 1), "low": 2, "high": 8, "alpha": 4.0,
                                                        "steps": 3},
                                               {"seeds": "seq", "low": "int", "high": "int", "alpha": "pos",
                                                "steps": "int"}),
        "l07_experiments.dora_experiment": S(FX.dora_experiment, lambda: {"seeds": (0, 1), "r": 2, "steps": 3},
                                             {"seeds": "seq", "r": "int", "steps": "int"}),
        "l07_experiments.pissa_experiment": S(FX.pissa_experiment, lambda: {"seeds": (0, 1), "r": 2, "steps": 3},
                                              {"seeds": "seq", "r": "int", "steps": "int"}),
        "l07_experiments.loraplus_experiment": S(FX.loraplus_experiment,
                                                 lambda: {"seeds": (0, 1), "ratios": (2.0,), "r": 2, "lr": 0.003,
                                                          "steps": 3},
                                                 {"seeds": "seq", "ratios": "seq", "r": "int", "lr": "pos",
                                                  "steps": "int"}),
        "l07_experiments.nf4_experiment": S(FX.nf4_experiment, lambda: {"seeds": (0, 1), "shape": (8, 8), "block": 16},
                                            {"seeds": "seq", "shape": "seq", "block": "int"}),
        "l07_experiments.verdict_of": S(FX.verdict_of, lambda: {"claims": [a_claim()]}, {"claims": "seq"}),
        "l07_summary.summary_rows": S(FS.summary_rows, lambda: {"verdicts": verdicts(), "d": 64, "k": 32, "r": 4},
                                      {"verdicts": "map", "d": "int", "k": "int", "r": "int"}),
        "l07_summary.format_summary": S(FS.format_summary, lambda: {"rows": FS.summary_rows(verdicts())},
                                        {"rows": "seq"}),
    }


_core_specs = specs


def specs() -> dict[str, Spec]:  # noqa: F811 - the course's specs plus lesson 07's block above
    return {**_core_specs(), **family_specs()}


# ------------------------------------------------------------------ contract classes: named arrays, shapes that must
# not broadcast, plain tuples for adapters, transposed weights, unit boundaries, the feedback checks' own inputs.
# Each class has one rule, applied everywhere the class occurs; ``class_cases()`` holds cases written per class
# (not the issue's examples), and ``benchmarks/contract_audit.py`` counts them by class.

def contract_class_specs(S) -> dict[str, Spec]:
    """Specs of the public functions these classes added."""
    return {
        "units.human_bytes": S(_v(UN, "human_bytes"), lambda: {"n": 3.5e9}, {"n": "nonneg"}),
        "units.human_count": S(_v(UN, "human_count"), lambda: {"n": 18.9e6}, {"n": "nonneg"}),
        "validation.check_named": S(_v(V, "check_named"), lambda: {"name": "adapters", "value": {"l0.q.A": 1},
                                                                   "allowed": ["l0.q.A", "l0.q.B"]},
                                    {"value": "map"}, names={"value": "adapters"}),
        "transformer.adapter_names": S(_v(T, "adapter_names"), lambda: {"cfg": toy_cfg()}, {"cfg": "obj"}),
        "transformer.check_adapters": S(_v(T, "check_adapters"), lambda: {"adapters": toy_model()[2],
                                                                          "cfg": toy_cfg()},
                                        {"adapters": "map", "cfg": "obj"}),
        "transformer.param_shapes": S(_v(T, "param_shapes"), lambda: {"cfg": toy_cfg()}, {"cfg": "obj"}),
    }


CLASSES = ("named arrays", "no broadcasting", "plain tuples and lists", "transposed weights", "unit boundaries",
           "feedback inputs")


def _transposed_message(thunk) -> Callable[[], object]:
    """A thunk that raises only a ValueError whose message says 'transpose' (anything else is obscure)."""
    def run():
        try:
            thunk()
        except ValueError as err:
            if "transpose" in str(err):
                raise
            raise RuntimeError(f"the message does not say the weight is transposed: {err}") from None
        return "accepted"
    return run


def _feedback_outcome(module, check: str, namespace, seed: int = 0):
    from lora_course.feedback.tasks.common import evaluate
    return evaluate(module.CHECKS, module.make_inputs, check, namespace, seed)


def _fails_naming(words: str):
    return lambda outcome: (not outcome.passed) and words.lower() in f"{outcome.message} {outcome.hint}".lower()


def class_cases() -> list[tuple[str, str, str, Callable, object, object]]:
    """(class, function, case, thunk, parameter, REJECT or a predicate the result must satisfy)."""
    from lora_course.feedback.project import checks as project
    from lora_course.feedback.tasks import lesson01, lesson02, lesson03, lesson04

    cfg, params, adapters, tokens = toy_model()
    two_layer = T.ToyConfig(vocab_size=7, seq_len=3, d_model=8, n_heads=2, n_layers=2, d_ff=8, n_classes=3)
    A, B = adapters["l0.q.A"], adapters["l0.q.B"]
    blocks, loras = BL.init_blocks(stack_cfg(), rng()), BL.init_qv_loras(stack_cfg(), 2, rng())
    ad = adapter()
    net = PD.make_network(rng())
    X8 = xs(n=4, k=8)

    def fwd(extra: dict, base=None):
        return lambda: T.model_forward(params, tokens, cfg, {**(adapters if base is None else base), **extra})[0]

    def with_param(key, value):
        return lambda: T.model_forward({**params, key: value}, tokens, cfg, adapters)[0]

    def head_with(**arrays):
        def run():
            h = PD.ClassificationHead(8, rng())
            for k, v in arrays.items():
                setattr(h, k, v)
            return h.forward(X8)[0]
        return run

    def net_with(**arrays):
        return lambda: PD.network_forward(X8, PD.FrozenNetwork(**{**net.arrays(), **arrays}))

    def patched_net(**arrays):
        def run():
            n = net.copy()
            for k, v in arrays.items():
                setattr(n, k, v)
            return PD.network_forward(X8, n)
        return run

    ref_stack = ML.stack_adapters([adapter(0), adapter(1)])
    C = "named arrays"
    out = [
        (C, "transformer.model_forward", "adapter key of a layer that does not exist",
         fwd({"l3.q.A": A, "l3.q.B": B}), "adapters", REJECT),
        (C, "transformer.model_forward", "adapter key without its layer prefix", fwd({}, {"q.A": A, "q.B": B}),
         "adapters", REJECT),
        (C, "transformer.model_forward", "adapter of an unknown target 'x'", fwd({"l0.x.A": A, "l0.x.B": B}),
         "adapters", REJECT),
        (C, "transformer.model_forward", "A without its B", fwd({}, {"l0.v.A": A}), "adapters", REJECT),
        (C, "transformer.model_forward", "B without its A", fwd({}, {"l0.v.B": B}), "adapters", REJECT),
        (C, "transformer.model_forward", "lower-case key 'l0.Q.A'", fwd({"l0.Q.A": A, "l0.Q.B": B}), "adapters",
         REJECT),
        (C, "transformer.model_forward", "A of the wrong width", fwd({"l0.k.A": A[:, :-1], "l0.k.B": B}),
         "l0.k.A", REJECT),
        (C, "transformer.model_forward", "B of another rank than its A", fwd({"l0.k.A": A, "l0.k.B": B[:, :1]}),
         "l0.k.B", REJECT),
        (C, "transformer.check_adapters", "a second layer's key for a one-layer model",
         lambda: T.check_adapters({"l1.q.A": A, "l1.q.B": B}, cfg), "adapters", REJECT),
        (C, "transformer.check_adapters", "every layer of a two-layer model",
         lambda: T.check_adapters(T.init_adapters(two_layer, ("q", "k", "v", "o"), 2, rng()), two_layer),
         "adapters", lambda a: len(a) == 16),
        (C, "blocks.merge_stack", "adapter for 'x', a weight the block does not have",
         lambda: BL.merge_stack(blocks, [{"x": ad}]), "loras[0]", REJECT),
        (C, "blocks.merge_stack", "key 'Wq' instead of 'q'", lambda: BL.merge_stack(blocks, [{"Wq": loras[0]["q"]}]),
         "loras[0]", REJECT),
        (C, "blocks.merge_stack", "a block that is not a dict", lambda: BL.merge_stack([[1, 2]], loras), "blocks[0]",
         REJECT),
        (C, "blocks.adapter_forward", "a misspelt layer-norm gain 'ln.gamma'",
         lambda: BL.adapter_forward(X8, {**_bottleneck(), "ln.gamma": np.ones(8), "ln.b": np.zeros(8)}), "module",
         REJECT),
        (C, "blocks.adapter_forward", "a layer-norm gain without its shift",
         lambda: BL.adapter_forward(X8, {**_bottleneck(), "ln.g": np.ones(8)}), "module", REJECT),
        (C, "blocks.adapter_forward", "with its layer norm", lambda: BL.adapter_forward(
            X8, {**_bottleneck(), "ln.g": np.ones(8), "ln.b": np.zeros(8)}), "module", lambda H: H.shape == (4, 8)),
        (C, "validation.check_named", "an integer key", lambda: V.check_named("params", {0: 1}, ["a"]), "params",
         REJECT),
    ]
    C = "no broadcasting"
    out += [
        (C, "transformer.model_forward", "a (1,) bias for the MLP", with_param("l0.b1", np.zeros(1)),
         "params['l0.b1']", REJECT),
        (C, "transformer.model_forward", "a (1,) final layer-norm gain", with_param("lnf.g", np.ones(1)),
         "params['lnf.g']", REJECT),
        (C, "transformer.model_forward", "a scalar head bias", with_param("head.b", np.float64(0.0)),
         "params['head.b']", REJECT),
        (C, "transformer.model_forward", "a (n_classes, 1) head bias", with_param("head.b", np.zeros((3, 1))),
         "params['head.b']", REJECT),
        (C, "project_data.network_forward", "a (1,) hidden bias b1", net_with(b1=np.zeros(1)), "b1", REJECT),
        (C, "project_data.network_forward", "a (1,) output bias b2 set after construction",
         patched_net(b2=np.zeros(1)), "net.b2", REJECT),
        (C, "project_data.network_forward", "a (1,) hidden bias b1 set after construction",
         patched_net(b1=np.zeros(1)), "net.b1", REJECT),
        (C, "project_data.ClassificationHead.forward", "a (2,) head bias", head_with(b=np.zeros(2)), "head.b",
         REJECT),
        (C, "project_data.ClassificationHead.forward", "a (d,) head weight", head_with(W=np.zeros(8)), "head.W",
         REJECT),
        (C, "project_data.ClassificationHead.forward", "a (1,) head bias, as specified", head_with(b=np.zeros(1)),
         "head.b", lambda logits: logits.shape == (4,)),
    ]
    C = "plain tuples and lists"
    plain = [(a.A, a.B, a.scale) for a in (adapter(0), adapter(1))]
    out += [
        (C, "multi_lora.stack_adapters", "plain tuples", lambda: ML.stack_adapters(plain), "adapters",
         lambda s: all(same(x, y) for x, y in zip(s, ref_stack, strict=True))),
        (C, "multi_lora.stack_adapters", "plain lists", lambda: ML.stack_adapters([list(p) for p in plain]),
         "adapters", lambda s: all(same(x, y) for x, y in zip(s, ref_stack, strict=True))),
        (C, "merge.merge", "a plain list adapter", lambda: M.merge(w0(), [ad.A, ad.B, ad.scale]), "adapter",
         lambda W: np.allclose(W, M.merge(w0(), ad))),
        (C, "merge.switch", "plain tuples for both adapters", lambda: M.switch(w0(), tuple(ad), tuple(adapter(1))),
         "old", lambda W: np.allclose(W, M.switch(w0(), ad, adapter(1)))),
        (C, "multi_lora.stack_adapters", "a two-item tuple (no scale)", lambda: ML.stack_adapters([(ad.A, ad.B)]),
         "adapters[0]", REJECT),
        (C, "merge.merge", "nested lists for W0", lambda: M.merge(w0().tolist(), ad), "W0",
         lambda W: np.allclose(W, M.merge(w0(), ad))),
        (C, "multi_lora.gathered", "the stacked factors as a list", lambda: ML.gathered(
            w0(), list(ref_stack), xs(), np.array([0, 1, 1, 0, 1])), "stacked",
         lambda H: same(H, ML.gathered(w0(), ref_stack, xs(), np.array([0, 1, 1, 0, 1])))),
        (C, "blocks.BlockStack.extra_params", "plain tuples for the LoRA pairs",
         lambda: BL.BlockStack(stack_cfg(), "lora", blocks, [{t: tuple(a) for t, a in loras[0].items()}]).extra_params,
         "loras", lambda n: n == BL.BlockStack(stack_cfg(), "lora", blocks, loras).extra_params),
        (C, "drift.switching_drift", "plain tuples for the adapters",
         lambda: DR.switching_drift(w0(), plain, [1, 3], rng()), "adapters",
         lambda got: same(got, DR.switching_drift(w0(), [adapter(0), adapter(1)], [1, 3], rng()))),
    ]
    C = "transposed weights"
    out += [
        (C, "merge.merge", "W0 transposed", _transposed_message(lambda: M.merge(w0().T, ad)), "adapter", REJECT),
        (C, "merge.merged_delta", "B transposed", _transposed_message(lambda: M.merged_delta(ad.A, ad.B.T, 0.5)), "B",
         REJECT),
        (C, "multi_lora.gathered", "X transposed",
         _transposed_message(lambda: ML.gathered(w0(), ref_stack, xs().T, np.zeros(5, int))), "X", REJECT),
        (C, "project_data.network_forward", "W2 transposed", _transposed_message(net_with(W2=net.W2.T.copy())), "W2",
         REJECT),
        (C, "transformer.model_forward", "the token embedding transposed",
         _transposed_message(with_param("tok_emb", params["tok_emb"].T.copy())), "params['tok_emb']",
         REJECT),
    ]
    C = "unit boundaries"
    units = UN or ST

    def shows(fn, n, text):
        return (C, f"units.{fn.__name__}", f"{n!r} -> {text!r}", lambda: fn(n), "n", lambda got: got == text)

    out += [shows(units.human_bytes, 999.5, "1 kB"), shows(units.human_bytes, 999_949.0, "1 MB"),
            shows(units.human_bytes, 999_950_000.0, "1 GB"), shows(units.human_bytes, 1234.0, "1.23 kB"),
            shows(units.human_bytes, 0.0, "0 B"), shows(units.human_count, 999.5, "1k"),
            shows(units.human_count, 999_500_000, "1B"), shows(units.human_count, 99_950, "100k"),
            shows(units.human_count, 1e15, "1,000T"), shows(units.human_count, 7, "7"),
            (C, "units.human_bytes", "a negative size", lambda: units.human_bytes(-1.0), "n", REJECT),
            (C, "units.human_count", "NaN", lambda: units.human_count(float("nan")), "n", REJECT)]
    C = "feedback inputs"
    from lora_course.feedback.tasks.common import evaluate as task_evaluate

    def task(module, check, fn_name, fn, words):
        return (C, f"feedback.{module.__name__.rsplit('.', 1)[1]}.{check}", f"{fn_name} {words}",
                lambda: _feedback_outcome(module, check, {fn_name: fn}), "namespace", _fails_naming(words))

    out += [
        (C, "feedback.lesson02.forward", "namespace None",
         lambda: task_evaluate(lesson02.CHECKS, lesson02.make_inputs, "forward", None), "namespace", REJECT),
        (C, "feedback.project.lora_forward", "namespace None", lambda: project.evaluate("lora_forward", None),
         "namespace", REJECT),
        task(lesson01, "factor", "factor_rank_r", lambda M_, r: None, "returns nothing"),
        task(lesson01, "errors", "rank_r_errors", lambda s: [[1.0, 2.0], [3.0]], "not a numpy array"),
        task(lesson02, "numerical_gradient", "numerical_gradient", lambda f, x, h: np.zeros((4, 3)), "shape"),
        task(lesson02, "init", "init_lora_factors", lambda d, k, r, std, g: (g.normal(0, std, (r, k)),),
             "should return 2"),
        task(lesson03, "adapted_qkv", "adapted_qkv", lambda X, W, ad, s: np.stack([X, X, X]), "single ndarray"),
        task(lesson03, "phi", "subspace_similarity_phi", lambda A1, A2, i, j: "0.5", "not one number"),
        task(lesson04, "merge", "merge_weight", lambda W0, A, B, s: np.array([W0, A], dtype=object), "dtype object"),
        task(lesson04, "switch", "switch_weight", lambda W, o, n: W[:, :-1] + 0.0, "shape"),
        task(lesson04, "gathered", "gathered_forward", 3.0, "not a function"),
        (C, "feedback.project.lora_forward", "LoRA whose forward returns None",
         lambda: project.evaluate("lora_forward", {"LoRA": _none_lora()}), "namespace",
         _fails_naming("returns nothing")),
    ]
    return out


def _bottleneck() -> dict[str, np.ndarray]:
    g = rng()
    return {"down": g.normal(size=(3, 8)), "b_down": np.zeros(3), "up": g.normal(size=(8, 3)), "b_up": np.zeros(8)}


def _none_lora():
    class LoRA:
        def __init__(self, k, d, rank, **options):
            self.A, self.B, self.scale = np.zeros((rank, k)), np.zeros((d, rank)), 1.0

        def forward(self, x):
            self.last = x
    return LoRA


# ------------------------------------------------------------------ measured claims: clocks, intervals that check
# themselves, the A/A control and section 4's serving verdicts (block of the measure owner). It moves the specs
# of Interval, bootstrap_median and wall_clock to the modules that now define them, gives the statistics five
# samples or more (their stated minimum), and adds the cases of the "statistics on degenerate data" class.
import lora_course.lessons.l04_serving as SV  # noqa: E402
import lora_course.measure.clocks as CK  # noqa: E402
import lora_course.measure.intervals as IV  # noqa: E402

MODULES.update({"clocks": CK, "intervals": IV, "l04_serving": SV})
RECORDS.discard("timing.Interval")
RECORDS |= {"intervals.Interval", "l04_serving.ServingTiming"}
NO_INPUTS -= {"timing.Interval.as_percent_overhead", "timing.Interval.as_ratio"}
NONE_IS_VALID |= {("timing.compare", "control"), ("latency.measure_cases", "total_seconds"),
                  ("intervals.unbounded", "n"), ("intervals.bootstrap_median", "block"),
                  ("l04_serving.time_serving", "progress")}


def six_rounds() -> dict[str, np.ndarray]:
    return {"frozen": np.array([1.0, 1.1, 0.9, 1.05, 1.02, 0.98]),
            "lora": np.array([1.2, 1.3, 1.1, 1.25, 1.22, 1.18])}


def serving_timings() -> list:
    return _once("serving", lambda: SV.time_serving(w0(), [adapter(0), adapter(1)], xs(), [1, 2], rng(),
                                                    total_seconds=0.05, min_rounds=5))


_specs_before_measured_claims = specs


def specs() -> dict[str, Spec]:  # noqa: F811 -- this block extends the specs above
    out = _specs_before_measured_claims()
    for moved in ("timing.wall_clock", "timing.Interval.contains", "timing.bootstrap_median"):
        out.pop(moved)
    S = Spec
    out.update({
        "clocks.wall_clock": S(CK.wall_clock, lambda: {"fn": lambda: None}, {"fn": "fn"}, deterministic=False),
        "clocks.thread_cpu_clock": S(CK.thread_cpu_clock, lambda: {"fn": lambda: None}, {"fn": "fn"},
                                     deterministic=False),
        "clocks.clock_name": S(CK.clock_name, lambda: {"measure": CK.thread_cpu_clock}, {"measure": "fn"}),
        "intervals.Interval.contains": S(lambda x: interval().contains(x), lambda: {"x": 1.02}, {"x": "scale"}),
        "intervals.Interval.as_percent_overhead": S(lambda digits: interval().as_percent_overhead(digits),
                                                    lambda: {"digits": 1}, {"digits": "int0"}),
        "intervals.Interval.as_ratio": S(lambda digits: interval().as_ratio(digits), lambda: {"digits": 2},
                                         {"digits": "int0"}),
        "intervals.unbounded": S(IV.unbounded, lambda: {"estimate": 1.0, "n": 3, "level": 0.95},
                                 {"estimate": "scale", "n": "int", "level": "pos"}),
        "intervals.block_length": S(IV.block_length, lambda: {"n": 20}, {"n": "int"}),
        "intervals.bootstrap_median": S(IV.bootstrap_median,
                                        lambda: {"x": six_rounds()["lora"], "rng": rng(), "n_boot": 50,
                                                 "level": 0.95, "block": 2, "min_samples": 5},
                                        {"x": "free+batch", "rng": "rng", "n_boot": "int", "level": "pos",
                                         "block": "int", "min_samples": "int"}),
        "timing.ratio_intervals": S(TI.ratio_intervals, lambda: {"times": six_rounds(), "baseline": "frozen",
                                                                 "rng": rng(), "n_boot": 50, "level": 0.95},
                                    {"times": "map", "baseline": "choice", "rng": "rng", "n_boot": "int",
                                     "level": "pos"}),
        "timing.compare": S(TI.compare, lambda: {"variants": timed_fns(), "baseline": "frozen", "rng": rng(),
                                                 "threads": 1, "min_rounds": 2, "max_rounds": 2,
                                                 "target_halfwidth": 0.02, "max_seconds": 1.0, "batch": 1,
                                                 "measure": TI.wall_clock, "progress": None, "control": "lora"},
                            {"variants": "map", "baseline": "choice", "rng": "rng", "threads": "int",
                             "min_rounds": "int", "max_rounds": "int", "target_halfwidth": "nonneg",
                             "max_seconds": "nonneg", "batch": "int", "measure": "fn", "progress": "fn",
                             "control": "choice"}, deterministic=False),
        "verdicts.bootstrap_mean_difference": S(VD.bootstrap_mean_difference,
                                                lambda: {"a": six_rounds()["lora"], "b": six_rounds()["frozen"],
                                                         "rng": rng(), "paired": True, "n_boot": 50, "level": 0.95},
                                                {"a": "free+batch", "b": "array", "rng": "rng", "paired": "bool",
                                                 "n_boot": "int", "level": "pos"}),
        "verdicts.bootstrap_difference": S(VD.bootstrap_difference,
                                           lambda: {"a": six_rounds()["lora"], "b": six_rounds()["frozen"],
                                                    "rng": rng(), "paired": True, "n_boot": 50, "level": 0.95,
                                                    "statistic": np.median, "min_samples": 5},
                                           {"a": "free+batch", "b": "array", "rng": "rng", "paired": "bool",
                                            "n_boot": "int", "level": "pos", "statistic": "fn",
                                            "min_samples": "int"}),
        "verdicts.claim": S(VD.claim, lambda: {"text": "merged costs what frozen costs", "interval": interval(),
                                               "test": "within", "threshold": 1.0, "tolerance": 0.2, "unit": "",
                                               "digits": 3, "min_samples": 2},
                            {"text": "text", "interval": "obj", "test": "choice", "threshold": "scale",
                             "tolerance": "pos", "unit": "text", "digits": "int0", "min_samples": "int"}),
        "verdicts.control_gate": S(VD.control_gate, lambda: {"claims": [a_claim()], "controls": [interval()],
                                                             "target": 1.0},
                                   {"claims": "seq", "controls": "seq", "target": "scale"}),
        "latency.measure_cases": S(LA.measure_cases, lambda: {"models": BL.build_variants(stack_cfg(), rng(), r=2,
                                                                                          variants=("frozen", "lora")),
                                                              "cases": [(1, 4)], "rng": rng(), "threads": 1,
                                                              "target_halfwidth": 0.02, "max_seconds": 1.0,
                                                              "min_rounds": 2, "max_rounds": 2, "seq_scale": 4,
                                                              "measure": TI.wall_clock, "progress": None,
                                                              "control": True, "total_seconds": 1.0},
                                   {"models": "map", "cases": "seq", "rng": "rng", "threads": "int",
                                    "target_halfwidth": "nonneg", "max_seconds": "nonneg", "min_rounds": "int",
                                    "max_rounds": "int", "seq_scale": "int", "measure": "fn", "progress": "fn",
                                    "control": "bool", "total_seconds": "nonneg"}, deterministic=False),
        "l04_claims.control_interval": S(LCL.control_interval, lambda: {"cases": [case_timing()], "rng": rng(),
                                                                        "level": 0.99},
                                         {"cases": "seq", "rng": "rng", "level": "pos"}),
        "l04_serving.time_serving": S(SV.time_serving, lambda: {"W0": w0(), "adapters": [adapter(0), adapter(1)],
                                                                "X": xs(), "distinct": [1, 2], "rng": rng(),
                                                                "total_seconds": 0.02, "min_rounds": 2,
                                                                "progress": None},
                                      {"W0": "obj", "adapters": "seq", "X": "obj", "distinct": "seq", "rng": "rng",
                                       "total_seconds": "nonneg", "min_rounds": "int", "progress": "fn"},
                                      deterministic=False),
        "l04_serving.rows_per_second": S(SV.rows_per_second, lambda: {"timings": serving_timings(), "rows": 5},
                                         {"timings": "seq", "rows": "int"}),
        "l04_serving.serving_claims": S(SV.serving_claims, lambda: {"timings": serving_timings(), "rng": rng()},
                                        {"timings": "seq", "rng": "rng"}),
        "l04_serving.serving_summary": S(SV.serving_summary,
                                         lambda: {"claims": SV.serving_claims(serving_timings(), rng=rng()),
                                                  "timings": serving_timings()},
                                         {"claims": "seq", "timings": "seq"}),
    })
    return out


def _one_round_case() -> LA.CaseTiming:
    models = BL.build_variants(stack_cfg(), rng(), r=2, variants=("frozen", "merged", "lora"))
    return LA.measure_cases(models, [(1, 4)], rng(), min_rounds=1, max_rounds=1, measure=TI.wall_clock)[0]


_known_cases_before_measured_claims = known_cases


def known_cases() -> list[tuple[str, str, Callable, str, object]]:  # noqa: F811 -- extends the cases above
    """The issue's cases, plus the "statistics on degenerate data" class: each must be refused naming the
    argument, or give a verdict that decides nothing."""
    def undecided(claims):
        return all(not c.verdict.resolved for c in claims)

    one_round = IV.Interval(1.2, 1.2, 1.2, n=1)
    return _known_cases_before_measured_claims() + [
        ("intervals.bootstrap_median", "one sample (a zero-width interval)",
         lambda: IV.bootstrap_median([1.2], rng=rng()), "x", REJECT),
        ("intervals.bootstrap_median", "four samples, below the stated minimum",
         lambda: IV.bootstrap_median([1.2, 1.1, 1.3, 1.2], rng=rng()), "x", REJECT),
        ("intervals.bootstrap_median", "fewer samples than min_samples asks for",
         lambda: IV.bootstrap_median(np.ones(10), rng=rng(), min_samples=20), "x", REJECT),
        ("intervals.Interval", "lo > hi", lambda: IV.Interval(1.0, 1.2, 0.8), "lo", REJECT),
        ("intervals.Interval", "NaN lower bound", lambda: IV.Interval(1.0, np.nan, 1.1), "lo", REJECT),
        ("intervals.Interval", "NaN upper bound", lambda: IV.Interval(1.0, 0.9, np.nan), "hi", REJECT),
        ("intervals.Interval", "NaN estimate", lambda: IV.Interval(np.nan, 0.9, 1.1), "estimate", REJECT),
        ("intervals.Interval", "estimate outside [lo, hi]", lambda: IV.Interval(2.0, 0.9, 1.1), "estimate", REJECT),
        ("intervals.Interval", "level 1", lambda: IV.Interval(1.0, 0.9, 1.1, 1.0), "level", REJECT),
        ("verdicts.within", "an inverted interval",
         lambda: VD.within(IV.Interval(1.0, 1.04, 0.96), 1.0, 0.05), "lo", REJECT),
        ("verdicts.claim", "a claim built on one round", lambda: VD.claim("x", one_round, "above", 1.0),
         "interval", lambda c: c.verdict is VD.Verdict.TOO_FEW),
        ("verdicts.claim", "a claim built on one seed", lambda: VD.claim("x", VD.mean_interval([3.0]), "above", 0.0),
         "interval", lambda c: c.verdict is VD.Verdict.TOO_FEW),
        ("verdicts.claim", "an interval of unknown size where 20 samples are asked for",
         lambda: VD.claim("x", IV.Interval(1.2, 1.1, 1.3), "above", 1.0, min_samples=20), "interval",
         lambda c: c.verdict is VD.Verdict.TOO_FEW),
        ("verdicts.bootstrap_difference", "one sample each",
         lambda: VD.bootstrap_difference([1.0], [0.9], rng=rng(), paired=False), "a", REJECT),
        ("timing.ratio_intervals", "one round", lambda: TI.ratio_intervals({"f": np.ones(1), "a": np.ones(1)}, "f",
                                                                          rng=rng()), "times", REJECT),
        ("l04_claims.latency_claims", "a run of one round",
         lambda: LCL.latency_claims([_one_round_case()], rng=rng()), "cases", undecided),
        ("l04_serving.serving_claims", "one round per batch mix",
         lambda: SV.serving_claims(SV.time_serving(w0(), [adapter(0), adapter(1)], xs(), [1, 2], rng(),
                                                   total_seconds=0.0, min_rounds=1), rng=rng()), "timings",
         undecided),
    ]


def family_known_cases() -> list[tuple[str, str, Callable, str, object]]:
    """Lesson 07's bad inputs spelled out: each must be rejected naming the parameter (or give the right answer)."""
    g = rng()
    W0, A, B = g.normal(size=(4, 3)), g.normal(size=(2, 3)), g.normal(size=(4, 2))
    m, levels = DO.dora_magnitude(W0), NF.nf4_levels()
    X = g.normal(size=(5, 3))
    H, cache = DO.dora_forward(X, W0, A, B, m, 0.5)
    codes = np.arange(12) % 16
    holds = {v: "holds" for v in ("rsLoRA", "DoRA", "PiSSA", "LoRA+", "QLoRA (NF4 base)")}
    claim_ = a_claim()
    return [
        ("dora.dora_weight", "m as a column (d, 1)", lambda: DO.dora_weight(W0, A, B, m[:, None], 0.5), "m", REJECT),
        ("dora.dora_weight", "W0 transposed", lambda: DO.dora_weight(W0.T, A, B, m, 0.5), "A", REJECT),
        ("dora.dora_weight", "a zero row in W0 + s B A",
         lambda: DO.dora_weight(np.vstack([W0[:3], np.zeros((1, 3))]), A, np.zeros((4, 2)), m, 0.5), "W0", REJECT),
        ("dora.dora_backward", "a cache of Nones", lambda: DO.dora_backward(H, (None,) * 9), "cache", REJECT),
        ("dora.dora_backward", "dH transposed", lambda: DO.dora_backward(H.T, cache), "dH", REJECT),
        ("pissa.pissa_init", "r above min(d, k)", lambda: PI.pissa_init(W0, 4), "r", REJECT),
        ("pissa.pissa_init", "r True", lambda: PI.pissa_init(W0, True), "r", REJECT),
        ("pissa.pissa_init", "scale 0", lambda: PI.pissa_init(W0, 2, 0.0), "scale", REJECT),
        ("pissa.pissa_init", "r as numpy int", lambda: PI.pissa_init(W0, np.int64(2)), "r",
         lambda out: all(np.array_equal(a, b) for a, b in zip(out, PI.pissa_init(W0, 2), strict=True))),
        ("nf4.nf4_levels", "offset 1 (an infinite quantile)", lambda: NF.nf4_levels(1.0), "offset", REJECT),
        ("nf4.quantize_blockwise", "block 0", lambda: NF.quantize_blockwise(W0, levels, 0), "block", REJECT),
        ("nf4.quantize_blockwise", "block 2.5", lambda: NF.quantize_blockwise(W0, levels, 2.5), "block", REJECT),
        ("nf4.quantize_blockwise", "block True", lambda: NF.quantize_blockwise(W0, levels, True), "block", REJECT),
        ("nf4.quantize_blockwise", "levels unsorted", lambda: NF.quantize_blockwise(W0, levels[::-1], 4), "levels",
         REJECT),
        ("nf4.quantize_blockwise", "block not dividing W.size (12 in blocks of 5)",
         lambda: NF.quantize_blockwise(W0, levels, 5), "block", lambda out: out[0].shape == (12,) and out[1].shape
         == (3,) and np.allclose(out[1], [np.abs(W0.ravel()[i:i + 5]).max() for i in (0, 5, 10)], rtol=1e-6)),
        ("nf4.dequantize_blockwise", "negative absmax",
         lambda: NF.dequantize_blockwise(codes, -np.ones(3), levels, (4, 3), 4), "absmax", REJECT),
        ("nf4.dequantize_blockwise", "code 16 of 16 levels",
         lambda: NF.dequantize_blockwise(np.full(12, 16), np.ones(3), levels, (4, 3), 4), "codes", REJECT),
        ("nf4.dequantize_blockwise", "shape that does not hold the codes",
         lambda: NF.dequantize_blockwise(codes, np.ones(3), levels, (3, 3), 4), "codes", REJECT),
        ("nf4.dequantize_blockwise", "shape (12, True)",
         lambda: NF.dequantize_blockwise(codes, np.ones(3), levels, (12, True), 4), "shape[1]", REJECT),
        ("nf4.double_dequantize", "code 200 (not 8-bit)",
         lambda: NF.double_dequantize(np.full(4, 200), np.ones(1), 0.0, 4), "codes", REJECT),
        ("loraplus.loraplus_sgd_step", "dB of shape (1, r) broadcasts",
         lambda: LP.loraplus_sgd_step(A, B, A, B[:1], 0.1, 2.0), "dB", REJECT),
        ("loraplus.loraplus_sgd_step", "r = 0", lambda: LP.loraplus_sgd_step(A[:0], B[:, :0], A[:0], B[:, :0], 0.1,
                                                                              2.0), "A", REJECT),
        ("l07_training.steps_to", "fraction 2", lambda: FT.steps_to(np.array([1.0, 0.5]), 2.0), "fraction", REJECT),
        ("l07_training.steps_to", "negative losses", lambda: FT.steps_to(np.array([-1.0, -0.5]), 0.01), "losses",
         REJECT),
        ("l07_experiments.principal_task", "r above min(d, k)",
         lambda: FX.principal_task(rng(), d=6, k=5, n=8, r=9), "r", REJECT),
        ("l07_experiments.dora_experiment", "a repeated seed", lambda: FX.dora_experiment(seeds=(0, 0), steps=3),
         "seeds", REJECT),
        ("l07_experiments.verdict_of", "strings, not claims", lambda: FX.verdict_of(["holds"]), "claims[0]", REJECT),
        ("l07_experiments.verdict_of", "one claim", lambda: FX.verdict_of([claim_]), "claims",
         lambda text: text == str(claim_.verdict)),
        ("l07_summary.summary_rows", "a verdict that is not text", lambda: FS.summary_rows({**holds, "DoRA": 3}),
         "verdicts['DoRA']", REJECT),
        ("l07_summary.summary_rows", "an unknown variant", lambda: FS.summary_rows({**holds, "VeRA": "holds"}),
         "verdicts", REJECT),
        ("l07_summary.summary_rows", "r above min(d, k)", lambda: FS.summary_rows(holds, d=4, k=4, r=8), "r", REJECT),
    ]


_core_known_cases = known_cases


def known_cases() -> list[tuple[str, str, Callable, str, object]]:  # noqa: F811 - plus lesson 07's cases above
    return [*_core_known_cases(), *family_known_cases()]


# ------------------------------------------------------------------ hostile inputs, by class (block of the API
# audit). The classes themselves (bools for numbers, 0-d arrays, float16, ragged lists, caches of Nones, callables
# that cannot take their arguments, sizes that would allocate gigabytes, ...) are in ``tests/hostile_cases.py`` and
# run by ``tests/test_hostile_inputs.py``; here are the specs of the checks that closed them.
try:                                          # absent from older versions (the audits' before count)
    import lora_course.cache_check as CC  # noqa: E402
    MODULES.update({"cache_check": CC})
except ImportError:
    CC = None
ALSO_VALID |= {("validation.as_ints", "x", label) for label in ("negative id",)}
ALSO_VALID |= {("nf4.double_dequantize", "codes", "negative id"),      # int8 codes are signed
               ("l07_training.steps_to", "losses", "inf entry")}       # +inf: a diverged run's loss


def _hostile_block_specs() -> dict[str, Spec]:
    S = Spec
    table = {
        "validation.check_size": S(_v(V, "check_size"), lambda: {"sizes": {"d": 4, "k": 3}, "what": "W0 (d, k)"},
                                   {"sizes": "map"}),
        "validation.as_ints": S(_v(V, "as_ints"), lambda: {"name": "task_ids", "x": np.array([0, 1, 1]), "ndim": 1},
                                {"x": "ints"}, names={"x": "task_ids"}),
        "cache_check.check_cache": S(_v(CC, "check_cache"), lambda: {"cache": (np.ones(2), np.ones(3)), "kinds": "aa",
                                                                     "forward": "gelu_forward"},
                                     {"cache": "cache"}),
    }
    return {name: spec for name, spec in table.items() if spec.call is not None}


_specs_before_hostile_block = specs


def specs() -> dict[str, Spec]:  # noqa: F811 -- the specs above plus the hostile-input block's
    return {**_specs_before_hostile_block(), **_hostile_block_specs()}


# ------------------------------------------------------------------ measured claims, round two: batch-means
# intervals, a CPU-time budget and interleaved cases (block of the measure owner). ``Comparison`` and ``certainty``
# moved to ``measure.comparison`` and ``t_quantile`` to ``measure.intervals``; their specs move with them.
import lora_course.measure.comparison as CMP  # noqa: E402

MODULES.update({"comparison": CMP})
RECORDS.discard("timing.Comparison")
RECORDS.add("comparison.Comparison")
for _moved in [n for n in NO_INPUTS if n.startswith(("timing.Comparison.", "timing.certainty"))]:
    NO_INPUTS.discard(_moved)
    NO_INPUTS.add(_moved.replace("timing.", "comparison.", 1))
NONE_IS_VALID |= {("timing.compare", "max_cpu_seconds"), ("timing.time_until_resolved", "max_cpu_seconds"),
                  ("latency.measure_cases", "total_cpu_seconds"), ("verdicts.claim", "fails_on")}


def twenty_rounds(shift: float = 0.0) -> np.ndarray:
    return 1.1 + shift + 0.02 * np.sin(np.arange(20.0))


_specs_before_batch_means = specs


def specs() -> dict[str, Spec]:  # noqa: F811 -- this block extends the specs above
    out = _specs_before_batch_means()
    for old, new in (("timing.certainty", "comparison.certainty"),
                     ("timing.Comparison.median_seconds", "comparison.Comparison.median_seconds"),
                     ("timing.Comparison.ratio_between", "comparison.Comparison.ratio_between"),
                     ("timing.Comparison.statement", "comparison.Comparison.statement"),
                     ("verdicts.t_quantile", "intervals.t_quantile")):
        if old in out:
            out[new] = out.pop(old)
    S = Spec
    out.update({
        "intervals.batch_median": S(IV.batch_median, lambda: {"x": twenty_rounds(), "level": 0.95, "batches": 5,
                                                              "min_samples": 5},
                                    {"x": "free+batch", "level": "pos", "batches": "int", "min_samples": "int"}),
        "intervals.batch_median_difference": S(IV.batch_median_difference,
                                               lambda: {"a": twenty_rounds(0.1), "b": twenty_rounds(), "level": 0.95,
                                                        "batches": 5, "min_samples": 5},
                                               {"a": "free+batch", "b": "free+batch", "level": "pos",
                                                "batches": "int", "min_samples": "int"}),
    })
    for name, extra, kind in (("timing.compare", "max_cpu_seconds", "nonneg"),
                              ("timing.time_until_resolved", "max_cpu_seconds", "nonneg"),
                              ("latency.measure_cases", "total_cpu_seconds", "nonneg"),
                              ("latency.measure_cases", "interleave", "bool"),
                              ("verdicts.claim", "fails_on", "obj")):
        spec = out[name]
        valid, value = spec.valid, {"max_cpu_seconds": 1.0, "total_cpu_seconds": 1.0, "interleave": False,
                                    "fails_on": interval()}[extra]
        out[name] = Spec(spec.call, lambda valid=valid, extra=extra, value=value: {**valid(), extra: value},
                         {**spec.kinds, extra: kind}, spec.deterministic, spec.names)
    return out

