"""A third round of crafted submissions for tests/test_grading_attacks.py, on the forge course of forge_fixtures.py
(lesson 05's LoRA class, 9 points over five checks, and lesson 02's ``lora_layer_forward``, 2 points).

Each notebook carries one or two attacks on the LoRA class and on ``lora_layer_forward`` (the grader grades per
item), so sixteen attacks and the honest students cost eight notebook runs. Each attack names its class and the
score its genuine work earns.
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np
from forge_fixtures import FORWARD, LAYER_PY, LORA, SETUP

from lora_course.feedback.project.checks import CHECKS as PROJECT
from lora_course.feedback.project.checks import make_inputs as project_inputs
from lora_course.feedback.tasks.lesson02 import CHECKS as LESSON02
from lora_course.feedback.tasks.lesson02 import make_inputs as lesson02_inputs

ZERO = (0, 0, 0, 0, 0)
FULL = (2, 2, 3, 1, 1)


def guessed_seeds(student: str) -> list[int]:
    """The inputs' seeds a student can work out before submitting: the notebook's own (0) and the per-student
    seed the grader derived from the base seed (0 unless the instructor passes --seed) and the folder's name."""
    return [0, int(hashlib.sha256(f"0:{student}".encode()).hexdigest()[:8], 16) % 1_000_000]


def _reference_namespace() -> dict:
    ns: dict = {}
    exec(SETUP + "\n" + LORA + "\n" + FORWARD, ns)                     # noqa: S102 - the course's own solution
    return ns


def memo_tables(student: str) -> tuple[dict, dict]:
    """What the reference returns on the grader's inputs for each guessed seed, keyed by a digest of the input the
    student's code is called with (X for forward, the A that the check set, ...): the table a student computes at
    home with the package and pastes into the notebook."""
    ns = _reference_namespace()
    lora: dict = {}
    forward: dict = {}
    for seed in guessed_seeds(student):
        p = project_inputs(seed)
        x_key = hashlib.sha256(np.asarray(p["X"], float).tobytes()).hexdigest()[:16]
        a_key = hashlib.sha256(np.asarray(p["A"], float).tobytes()).hexdigest()[:16]
        got = {name: PROJECT[name].collect(ns, p) for name in ("lora_init", "lora_forward", "lora_backward",
                                                                 "lora_update", "merged_delta")}
        lora[x_key] = {"delta": got["lora_forward"]["delta"].tolist(), "dX": got["lora_backward"]["dX"].tolist(),
                       "dA": got["lora_backward"]["dA"].tolist(), "dB": got["lora_backward"]["dB"].tolist()}
        lora[a_key] = {"A_next": got["lora_update"]["A"].tolist(), "B_next": got["lora_update"]["B"].tolist(),
                       "delta_W": got["merged_delta"]["delta_W"].tolist()}
        lora.setdefault("A_init", got["lora_init"]["A"].tolist())
        q = lesson02_inputs(seed)
        key = hashlib.sha256(np.asarray(q["X"], float).tobytes()).hexdigest()[:16]
        forward[key] = LESSON02["forward"].collect(ns, q)["H"].tolist()
    return lora, forward


def memo_lora(table: dict) -> str:
    """A LoRA class that answers every check from the pasted table (no LoRA arithmetic at all)."""
    return f'''import hashlib
_T = {table!r}


def _k(a):
    return hashlib.sha256(np.asarray(a, float).tobytes()).hexdigest()[:16]


class LoRA:
    def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
        self.A = np.array(_T["A_init"]) if (r, d_in) == np.shape(_T["A_init"]) else np.ones((r, d_in))
        self.B = np.zeros((d_out, r))
        self.scale = (r if alpha is None else alpha) / r

    def forward(self, x):
        self._x = _k(x)
        return np.array(_T.get(self._x, {{}}).get("delta", 0.0)), None

    def backward(self, g, cache):
        row = _T.get(self._x, {{}})
        self.dA, self.dB = np.array(row.get("dA", 0.0)), np.array(row.get("dB", 0.0))
        return np.array(row.get("dX", 0.0))

    def update(self, lr):
        row = _T.get(_k(self.A), {{}})
        self.A, self.B = np.array(row.get("A_next", 0.0)), np.array(row.get("B_next", 0.0))

    def get_merged_delta(self):
        return np.array(_T.get(_k(self.A), {{}}).get("delta_W", 0.0))
'''


def memo_forward(table: dict) -> str:
    return f'''import hashlib
_H = {table!r}


def lora_layer_forward(X, W0, A, B, alpha):
    return np.array(_H.get(hashlib.sha256(np.asarray(X, float).tobytes()).hexdigest()[:16], 0.0)), None
'''


# the course's LoRA with one change: A drawn from a generator of its own, not from the rng argument
FIXED_RNG = LORA.replace("rng.normal(", "np.random.default_rng(0).normal(")

# the clean interpreter's driver shares the student's process: take its collectors and its channel writer
DRIVER_PATCH = '''import sys
_main = sys.modules["__main__"]
_f = sys._getframe()
while _f is not None and "collectors" not in _f.f_locals:
    _f = _f.f_back
if _f is not None:
    def _claim(ns, inputs):
        return {"delta": np.zeros((6, 8)), "dX": np.zeros((6, 16)), "dA": np.zeros((4, 16)), "dB": np.zeros((8, 4)),
                "A": np.asarray(inputs["A"]), "B": np.asarray(inputs["B"]), "delta_W": np.zeros((8, 16)),
                "passed": True}
    for _name in list(_f.f_locals["collectors"]["__collect__"]):
        _f.f_locals["collectors"]["__collect__"][_name] = _claim
if hasattr(_main, "frame"):
    _old = _main.frame
    def _frame(event, **fields):
        if event == "check":
            fields["payload"] = dict(fields["payload"], passed=True, score=100)
            fields["payload"].pop("error", None)
        return _old(event, **fields)
    _main.frame = _frame
    _main.ATTEMPTS.clear()
    _main.HOOKS.clear()
'''

# an interpreter-wide change of numpy from the answer cell: comparisons that always agree, saves that lie
NUMPY_PATCH = '''np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: np.True_
np.ndarray.__eq__ = lambda self, other: True if False else np.ones(np.shape(self), bool)
_save = np.save


def _lying_save(file, arr, *a, **k):
    return _save(file, np.zeros_like(np.asarray(arr)), *a, **k)


np.save = _lying_save


def lora_layer_forward(X, W0, A, B, alpha):
    return np.zeros((X.shape[0], W0.shape[0])), None
'''

# values whose methods lie: a subclass whose comparisons agree, an object claiming to be an ndarray, a masked array
LYING_LORA = '''class _Agree(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)
    __ne__ = lambda self, other: np.zeros(self.shape, bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.broadcast_shapes(*(np.shape(i) for i in inputs)), bool)
    def __float__(self):
        return 1.0


class _Claims:
    __class__ = property(lambda self: np.ndarray)
    shape, dtype, ndim = (6, 16), np.dtype(float), 2
    def __array__(self, dtype=None, copy=None):
        return np.zeros((6, 16))
    def __eq__(self, other):
        return True
    def __len__(self):
        return 6


class LoRA:
    def __init__(self, d_in, d_out, r, *, rng=None, alpha=None, init_scale=0.01):
        self.A, self.B = np.zeros((r, d_in)).view(_Agree), np.zeros((d_out, r)).view(_Agree)
        self.scale = _Agree((), float)

    def forward(self, x):
        return np.zeros((x.shape[0], self.B.shape[0])).view(_Agree), None

    def backward(self, g, cache):
        self.dA, self.dB = np.ma.masked_all(self.A.shape), np.ma.masked_all(self.B.shape)
        return _Claims()

    def update(self, lr):
        self.A = np.ma.masked_all(self.A.shape)

    def get_merged_delta(self):
        return np.matrix(np.zeros(self.B.shape[:1] + self.A.shape[1:]))
'''

LYING_FORWARD = '''def lora_layer_forward(X, W0, A, B, alpha):
    H = np.zeros((X.shape[0], W0.shape[0]), dtype=[("re", float), ("im", float)])
    class Pair(tuple):
        def __len__(self):
            return 2
        def __getitem__(self, i):
            return H if i == 0 else None
    return Pair((H, None, "extra"))
'''

# the first kernel holds the package: keep the reference's source where a later process might find it, then
# read it back wherever this cell runs without the package
KERNEL_CHANNEL = '''import os, sys
_homes = ["/dev/shm", "/tmp", "/var/tmp", os.path.expanduser("~"), os.getcwd(), "/run/user"]
try:
    import inspect, lora_course.layer as _layer
    _text = inspect.getsource(_layer)
    for _d in _homes:
        try:
            with open(os.path.join(_d, "lref.py"), "w") as _out:
                _out.write(_text)
        except OSError:
            pass
    LoRA = _layer.LoRA
except ImportError:
    for _d in _homes:
        try:
            exec(open(os.path.join(_d, "lref.py")).read())
            break
        except OSError:
            pass
'''

# behave differently where the grader judges: find the judge's process, its arguments and environment, its files
DETECT_CLEAN = '''import os, sys, time
_clean = sys.flags.isolated and "get_ipython" not in dir(__builtins__) or "IPYTHONDIR" not in os.environ
_found = []
for _pid in os.listdir("/proc"):
    for _part in ("cmdline", "environ"):
        try:
            _found.append(open(f"/proc/{_pid}/{_part}", "rb").read()[:200])
        except OSError:
            pass
for _fd in range(0, 20) if _clean else ():
    try:
        os.lseek(_fd, 0, 0)
        _found.append(os.read(_fd, 1000))
    except OSError:
        pass


def lora_layer_forward(X, W0, A, B, alpha):
    if _clean:
        return X @ W0.T, None          # the frozen part only: without the LoRA branch
    from lora_course.layer import linear_lora_forward
    return linear_lora_forward(X, W0, A, B, alpha)
'''

# end the clean interpreter from inside a check: the sandbox's first process, the parent, the process group
KILL_SANDBOX = LORA.replace("    def backward(", '''    def _stop(self):
        import os, signal
        for pid in (1, os.getppid(), 0):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(0)

    def backward(''').replace("        x, z = cache\n", "        x, z = cache\n        if self.A.shape[0] == 4:\n"
                               "            self._stop()\n")

# a value the grader's judge cannot hold: the driver's encoder replaced so that lesson 02's H arrives as 10**400
JUDGE_RAISES = '''import sys
_m = sys.modules["__main__"]
_encode = getattr(_m, "encode", None)
if _encode is not None:
    _m.encode = lambda v, depth=0: 10 ** 400 if getattr(v, "shape", None) == (7, 5) else _encode(v, depth)


def lora_layer_forward(X, W0, A, B, alpha):
    return np.zeros((X.shape[0], W0.shape[0])), None
'''

# a cell before the real answer cell whose id only looks like it (a Unicode hyphen, a trailing space)
HOMOGLYPH_IDS = {"lora\u2010task": "from lora_course.layer import LoRA",
                 "forward-task ": "from lora_course.layer import linear_lora_forward as lora_layer_forward"}


# the reference brought in as hidden text and run from a helper, so that no statement that runs it binds a task
# name; then the driver's records are cleared, its phase set back, its module functions replaced
_LAYER64 = base64.b64encode(LAYER_PY.read_bytes()).decode()
HIDDEN_HELPER = f'''import base64, sys


def _get():
    exec(base64.b64decode({_LAYER64!r}), globals())


_get()
_m = sys.modules["__main__"]
for _n in ("ATTEMPTS", "COMPILED", "HOOKS"):
    getattr(_m, _n, []).clear()
'''
HIDDEN_DEFERRED = f'''import base64, sys
_m = sys.modules["__main__"]
getattr(_m, "STATE", {{}})["phase"] = "driver"
for _n in ("attempt", "frame", "audit"):
    if hasattr(_m, _n):
        setattr(_m, _n, lambda *a, **k: None)
_store = {{}}


def _load():
    exec(base64.b64decode({_LAYER64!r}), _store)


_load()
lora_layer_forward = _store["linear_lora_forward"]
'''

# honest: IPython the kernel accepts in answer cells (display() in a method and at a cell's top level, an
# assignment magic, help, a magic indented inside a function, a cell magic), and a self-test that compares with the
# package where it exists, inside try/except ImportError
HONEST_LORA = LORA.replace("        z = x @ self.A.T", "        z = x @ self.A.T\n        display(z.shape)") + '''
t = %timeit -o -q -n 1 -r 1 1
LoRA?
try:
    from lora_course.layer import LoRA as _Reference
    _x = np.ones((2, 4))
    print(np.allclose(_Reference(4, 3, 2, rng=np.random.default_rng(0)).forward(_x)[0],
                      LoRA(4, 3, 2, rng=np.random.default_rng(0)).forward(_x)[0]))
except ImportError:
    print("no reference here")
'''
HONEST_FORWARD = "%%capture\n" + FORWARD.replace("    r = A.shape[0]", "    %time pass\n    r = A.shape[0]") + '''

display(lora_layer_forward.__doc__)
try:
    from lora_course.layer import linear_lora_forward as _reference_forward
except ImportError:
    _reference_forward = None
'''


def attacks(student_memo: str) -> dict[str, tuple]:
    """student -> (classes, answers by cell id, cells inserted before an id (id, source, new id), LoRA scores,
    forward score, status or None, words in the feedback)."""
    lora_table, forward_table = memo_tables(student_memo)
    fixed_lora, fixed_forward = memo_tables("j_fixed_rng")
    return {
        # two pasted tables of the reference's outputs on the inputs the student can work out
        student_memo: (("memoised answers", "memoised answers"),
                       {"lora-task": memo_lora(lora_table), "forward-task": memo_forward(forward_table)}, [],
                       ZERO, 0, "ok", []),
        # a LoRA that ignores the generator it is given; a forward memoised for the guessed seeds
        "j_fixed_rng": (("ignores its generator", "memoised answers"),
                        {"lora-task": FIXED_RNG, "forward-task": memo_forward(fixed_forward)}, [], (0, 2, 3, 1, 1), 0,
                        "ok", ["rng"]),
        # the driver's collectors and channel writer replaced from the answer cell; numpy patched interpreter-wide;
        # and, before each answer cell, a cell whose id only looks like it (a Unicode hyphen, a trailing space)
        "d_driver_patch": (("driver of the clean interpreter + look-alike cell id",
                            "numpy patched + look-alike cell id"),
                           {"lora-task": "class LoRA:\n    pass\n" + DRIVER_PATCH, "forward-task": NUMPY_PATCH},
                           [(cid.replace("\u2010", "-").strip(), source, cid) for cid, source in HOMOGLYPH_IDS.items()],
                           ZERO, 0, None, []),
        # values whose methods lie, in the clean interpreter
        "t_lying_values": (("lying values", "lying values"), {"lora-task": LYING_LORA, "forward-task": LYING_FORWARD},
                           [], ZERO, 0, "ok", []),
        # the first kernel leaves the reference in shared places for the clean interpreter; code that detects
        # the judge's interpreter and scans /proc and inherited descriptors
        "e_kernel_channel": (("first kernel to clean interpreter", "detects the clean interpreter"),
                             {"lora-task": KERNEL_CHANNEL, "forward-task": DETECT_CLEAN}, [], ZERO, 0, "ok", []),
        # killing the sandbox's processes from inside the backward check: what was collected before still counts;
        # a value that makes the judge raise costs its own item only
        "r_kill_sandbox": (("ends its interpreter", "exception inside the judge"),
                           {"lora-task": KILL_SANDBOX, "forward-task": JUDGE_RAISES}, [], (2, 2, 0, 0, 0), 0,
                           "error", ["stopped before"]),
        # hidden reference text run from a helper (no task name bound where it runs), records cleared afterwards;
        # the driver's phase, recorder and writer replaced first, the reference run into a dict, bound later
        "x_hidden_helper": (("hidden reference, helper", "hidden reference, deferred"),
                            {"lora-task": HIDDEN_HELPER, "forward-task": HIDDEN_DEFERRED}, [], ZERO, 0, "ok",
                            ["reference used"]),
        # honest: IPython in answer cells, and a self-test against the package
        "h_ipython_self_test": (("honest", "honest"), {"lora-task": HONEST_LORA, "forward-task": HONEST_FORWARD}, [],
                                FULL, 2, "ok", []),
    }
