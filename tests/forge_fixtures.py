"""A small course (one notebook: lesson 05's LoRA class, 9 points, and lesson 02's forward task, 2 points) and the
crafted submissions of tests/test_grading_forge.py: attempts to forge implement-it grades, and honest students.

Each fixture is (class, answer-cell sources by id, added cells, expected scores). The LoRA class is scored by five
checks (lora_init 2, lora_forward 2, lora_backward 3, lora_update 1, merged_delta 1); ``lora_layer_forward`` by one
(2). Expected scores are what the student honestly earned: a LoRA taken from the package earns 0 on the LoRA checks
and keeps the student's own ``lora_layer_forward``.
"""

from __future__ import annotations

import base64
import json
import marshal
from pathlib import Path

import nbformat

import lora_course
from lora_course.authoring.student import student_version
from lora_course.feedback.project.checks import CHECKS as PROJECT
from lora_course.feedback.tasks.lesson02 import CHECKS as LESSON02

ROOT = Path(__file__).resolve().parent.parent
NAME = "05_forge.ipynb"
PKG = Path(lora_course.__file__).resolve().parent
LAYER_PY = PKG / "layer.py"
LORA_CHECKS = {"lora_init": 2, "lora_forward": 2, "lora_backward": 3, "lora_update": 1, "merged_delta": 1}
ITEMS = [f"f-{c}" for c in LORA_CHECKS] + ["f-forward"]
SETUP = '''import numpy as np
import lora_course.feedback.answers as answers
from lora_course.feedback.project.checks import run_check
from lora_course.feedback.tasks.lesson02 import run_check as run_task_check
from lora_course.layer import LoRA as PackageLoRA
from lora_course.layer import lora_backward, lora_forward, scale_factor
from lora_course.lessons.l05_project import D_MODEL, FrozenNetwork, hidden
R = 4
'''


def _source(notebook: str, cid: str) -> str:
    nb = nbformat.read(ROOT / "solutions" / notebook, as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == cid)


LORA = _source("05_project.ipynb", "l05-lora-task")
FORWARD = _source("02_reparameterization.ipynb", "l02-forward-task")


def _cell(kind: str, source: str, cid: str, meta: dict | None = None) -> nbformat.NotebookNode:
    c = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    c.id = cid
    if meta:
        c.metadata["lora_course"] = meta
    return c


def solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [_cell("md", "# Forge-proof grading", "title"), _cell("code", SETUP, "setup"),
             _cell("code", LORA, "lora-task")]
    for check, points in LORA_CHECKS.items():
        cells.append(_cell("code", f"run_check({check!r}, globals())", f"{check}-check",
                           {"grade_id": f"f-{check}", "points": points, "kind": "project", "check": check,
                            "reference": list(PROJECT[check].reference)}))
    cells += [_cell("code", FORWARD, "forward-task"),
              _cell("code", "run_task_check('forward', globals())", "forward-check",
                    {"grade_id": "f-forward", "points": 2, "kind": "project", "check": "forward",
                     "checks_module": "lora_course.feedback.tasks.lesson02",
                     "reference": list(LESSON02["forward"].reference)})]
    nb.cells = cells
    return nb


def submission(answers: dict[str, str], added: list[tuple[str, str]] = ()) -> nbformat.NotebookNode:
    """The solution with answer cells replaced (by id; ``None`` keeps the solution's) and cells added after ids."""
    nb = nbformat.from_dict(json.loads(json.dumps(solution())))
    stub = {c.id: c.source for c in student_version(solution(), NAME).cells}
    for c in nb.cells:
        if c.id in answers:
            c.source = stub[c.id] if answers[c.id] == "stub" else answers[c.id]
    for k, (after, source) in enumerate(added):
        index = [c.id for c in nb.cells].index(after)
        nb.cells.insert(index + 1, _cell("code", source, f"added-{k}"))
    return nb


# --------------------------------------------------------------------------------------------- attacks' payloads
_BLOB = base64.b64encode(marshal.dumps(compile(LAYER_PY.read_text(), "layer", "exec"))).decode()
_SOURCE64 = base64.b64encode(LAYER_PY.read_text().encode()).decode()
_PASTED = LAYER_PY.read_text().replace("ddelta", "g_out")        # the reference pasted, a name changed

ALL9 = (0, 0, 0, 0, 0)
FULL = (2, 2, 3, 1, 1)
# student -> (class, answers by cell id, added cells, LoRA scores, forward score, status, words in the feedback)
FIXTURES: dict[str, tuple] = {
    # ---- root 2, the issue's own evasions: each reaches for the package's LoRA
    "r_globals_item": ("reference (issue)", {"lora-task": "globals()['LoRA'] = PackageLoRA"}, [], ALL9, 2, "ok",
                       ["reference used"]),
    "r_globals_update": ("reference (issue)", {"lora-task": "import importlib\nglobals().update(vars("
                         "importlib.import_module('lora_course.layer')))"}, [], ALL9, 2, "ok",
                         ["reference used"]),
    "r_walrus_list": ("reference (issue)", {"lora-task": "[LoRA := __import__('lora_course.layer', "
                      "fromlist=['LoRA']).LoRA]"}, [], ALL9, 2, "ok", ["reference used"]),
    "r_sys_modules": ("reference (issue)", {"lora-task": "import sys\nfor _n, _m in list(sys.modules.items()):\n"
                      "    if _n.startswith('lora_course') and hasattr(_m, 'LoRA'):\n        LoRA = _m.LoRA\n"}, [],
                      ALL9, 2, "ok", ["not defined"]),
    "r_exec_getsource": ("reference (issue)", {"lora-task": "import inspect, lora_course\n"
                         "exec(inspect.getsource(lora_course.layer))"}, [], ALL9, 2, "ok", ["reference used"]),
    "r_marshal_code": ("reference (issue)", {"lora-task": "import marshal, types, importlib\n"
                       "_m = importlib.import_module('lora_course.layer')\n"
                       "_code = marshal.loads(marshal.dumps(_m.LoRA.forward.__code__))\nLoRA = _m.LoRA"}, [],
                       ALL9, 2, "ok", ["reference used"]),
    "r_builtins": ("reference (issue)", {"lora-task": "import builtins\nfrom lora_course import layer\n"
                   "builtins.LoRA = layer.LoRA"}, [], ALL9, 2, "ok", ["not available while grading"]),
    "r_numpy_callback": ("reference (issue)", {"lora-task": "np.vectorize(lambda _: globals().__setitem__('LoRA', "
                         "__import__('lora_course.layer', fromlist=['LoRA']).LoRA), otypes=[object])([0])"}, [],
                         ALL9, 2, "ok", ["not available while grading"]),
    "r_judge_modules": ("reference (issue)", {"lora-task": "from lora_course.feedback.project import lora as _judge\n"
                        "from lora_course.feedback.project.checks import CHECKS\nLoRA = _judge.LoRA"}, [], ALL9, 2,
                        "ok", ["not defined"]),
    "r_grader_modules": ("reference (issue)", {"lora-task": "import lora_course.grading.probe as _p\n"
                         "LoRA = _p.np and PackageLoRA"}, [], ALL9, 2, "ok", ["not defined", "static scan"]),
    # ---- root 2, new evasions of the same kind
    "n_pathfinder": ("reference (new)", {"lora-task": "import importlib.machinery, importlib.util\n"
                     f"_s = importlib.machinery.PathFinder.find_spec('layer', [{str(PKG)!r}])\n"
                     "_m = importlib.util.module_from_spec(_s)\n_s.loader.exec_module(_m)\nLoRA = _m.LoRA"}, [],
                     ALL9, 2, "ok", ["not defined"]),
    "n_file_spec": ("reference (new)", {"lora-task": "import importlib.util\n"
                    f"_s = importlib.util.spec_from_file_location('x', {str(LAYER_PY)!r})\n"
                    "_m = importlib.util.module_from_spec(_s)\n_s.loader.exec_module(_m)\nLoRA = _m.LoRA"}, [],
                    ALL9, 2, "ok", ["reference used"]),
    "n_open_source": ("reference (new)", {"lora-task": f"exec(open({str(LAYER_PY)!r}).read())"}, [], ALL9, 2, "ok",
                      ["reference used"]),
    "n_runpy": ("reference (new)", {"lora-task": f"import runpy\nLoRA = runpy.run_path({str(LAYER_PY)!r})['LoRA']"},
                [], ALL9, 2, "ok", ["reference used"]),
    "n_sys_path": ("reference (new)", {"lora-task": f"import sys, importlib\nsys.path.insert(0, {str(PKG.parent)!r})\n"
                   "sys.meta_path[:] = [f for f in sys.meta_path if 'View' not in type(f).__name__]\n"
                   "for _k in [k for k in sys.modules if k.startswith('lora_course')]:\n    del sys.modules[_k]\n"
                   "importlib.invalidate_caches()\nLoRA = importlib.import_module('lora_course.layer').LoRA"}, [],
                   ALL9, 2, "ok", ["not defined"]),
    "n_subprocess": ("reference (new)", {"lora-task": "import subprocess, sys\n_out = subprocess.run([sys.executable, "
                     "'-c', 'import inspect, lora_course.layer as m; print(inspect.getsource(m))'], "
                     "capture_output=True, text=True).stdout\nexec(_out)"}, [], ALL9, 2, "ok", ["not defined"]),
    "n_pickle": ("reference (new)", {"lora-task": "import pickle\n"
                 "LoRA = pickle.loads(b'clora_course.layer\\nLoRA\\n.')"}, [], ALL9, 2, "ok", ["reference used"]),
    "n_gc_objects": ("reference (new)", {"lora-task": "import gc\nLoRA = next(o for o in gc.get_objects() if "
                     "isinstance(o, type) and o.__name__ == 'LoRA' and 'lora_course' in o.__module__)"}, [], ALL9,
                     0, "error", ["tampering"]),    # gc.get_objects is tampering in both interpreters
    "n_frame_walk": ("reference (new)", {"lora-task": "import sys\n_f = sys._getframe()\nwhile _f is not None:\n"
                     "    if 'PackageLoRA' in _f.f_globals:\n        LoRA = _f.f_globals['PackageLoRA']\n"
                     "    _f = _f.f_back\n"}, [], ALL9, 2, "ok", ["not defined"]),
    # the whole of layer.py, hidden: it holds lora_layer_forward's reference too, which then exists in the
    # interpreter (whether the student's forward calls it cannot be told), so that task earns nothing either
    "n_marshal_blob": ("reference (new)", {"lora-task": f"import marshal, base64\nexec(marshal.loads("
                       f"base64.b64decode({_BLOB!r})))"}, [], ALL9, 0, "ok", ["reference used", "marshal"]),
    "n_base64_source": ("reference (new)", {"lora-task": f"import base64\nexec(base64.b64decode({_SOURCE64!r}))"},
                        [], ALL9, 0, "ok", ["reference used", "compiled at run time"]),
    "n_editable_finder": ("reference (new)", {"lora-task": "import sys, importlib\n"
                          "_f = [m for m in sys.modules if 'editable' in m and 'lora' in m]\n"
                          "_mods = [importlib.import_module(m) for m in _f]\n"
                          "for _mod in _mods:\n    _mod.install()\n"
                          "sys.meta_path.reverse()\nLoRA = importlib.import_module('lora_course.layer').LoRA"}, [],
                          ALL9, 2, "ok", ["| f-lora_init | 0 / 2 |"]),
    # ---- cells added after the answers, or hooks installed in the notebook, aimed at the clean interpreter
    "a_added_import": ("added cells", {"lora-task": "stub"}, [("lora-task", "from lora_course.layer import LoRA")],
                       ALL9, 2, "ok", ["not implemented"]),
    "a_added_patch": ("added cells", {}, [("lora-task", "LoRA.forward = lambda self, x: (x, None)")], FULL, 2, "ok",
                      ["passed"]),
    "a_planted_files": ("added cells", {"lora-task": "stub"}, [("setup", "import os\nos.makedirs('lora_course', "
                        "exist_ok=True)\nfor _p in ('sitecustomize.py', 'usercustomize.py', 'lora_course/__init__.py',"
                        " os.path.expanduser('~/sitecustomize.py')):\n    open(_p, 'w').write('from lora_course.layer "
                        "import LoRA\\nimport builtins\\nbuiltins.LoRA = LoRA\\n')\n")], ALL9, 2, "ok",
                        ["not implemented"]),
    "a_globals_exec": ("added cells", {"lora-task": "stub"}, [("forward-check", "exec = lambda *a, **k: None\n"
                       "globals = lambda: {'LoRA': PackageLoRA}\n")], ALL9, 2, None, ["not implemented"]),
    "a_audit_hook": ("added cells", {"lora-task": "stub"}, [("setup", "import sys\n"
                     "sys.addaudithook(lambda e, a: None)\nsys.settrace(lambda *a: None)\n")], ALL9, 2, None,
                     ["not implemented"]),
    "a_lingering_process": ("added cells", {"lora-task": "stub"}, [("setup", "import subprocess, sys\n"
                            "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(0.05)'], "
                            "start_new_session=True)\n")], ALL9, 2, "ok", ["not implemented"]),
    # ---- tampering from inside an answer cell: every implement-it item of the notebook is 0
    "t_settrace": ("tampering", {"lora-task": LORA + "\nimport sys\nsys.settrace(lambda *a: None)\n"}, [], ALL9, 0,
                   "error", ["tampering"]),
    "t_ctypes": ("tampering", {"lora-task": LORA + "\nimport ctypes\n_libc = ctypes.CDLL(None)\n"}, [], ALL9, 0,
                 "error", ["tampering"]),
    "t_channel": ("tampering", {"lora-task": LORA + "\nimport os\nfor _fd in range(3, 12):\n    try:\n"
                  "        os.write(_fd, b'{\"seq\": 1, \"event\": \"ready\"}\\n')\n    except OSError:\n"
                  "        pass\n"}, [], ALL9, 0, "error", ["tampering"]),
    "t_exit": ("tampering", {"lora-task": LORA + "\nimport os\nos._exit(0)\n"}, [], ALL9, 0, "error",
               ["stopped before"]),
    # ---- honest students: full marks, however their code looks
    "h_solution": ("honest", {}, [], FULL, 2, "ok", ["passed"]),
    "h_own_lora_forward": ("honest", {"lora-task": '''
def lora_forward(x, A, B, scale):
    """My own helper: the branch x A^T B^T, scaled (it shares the package's name)."""
    z = x @ A.T
    return scale * (z @ B.T), (x, z)


def lora_backward(g, cache, A, B, scale):
    x, z = cache
    dz = scale * g @ B
    return dz @ A, dz.T @ x, scale * g.T @ z


class LoRA:
    def __init__(self, d_in: int, d_out: int, r: int, alpha=None, init_scale=0.01, rng=None):
        self.r = r
        self.alpha = float(r if alpha is None else alpha)
        self.scale = self.alpha / r
        self.A = rng.normal(0.0, init_scale, size=(r, d_in))
        self.B = np.zeros((d_out, r))
        self.dA, self.dB = np.zeros_like(self.A), np.zeros_like(self.B)

    def forward(self, x):
        return lora_forward(x, self.A, self.B, self.scale)

    def backward(self, grad_output, cache):
        dx, self.dA, self.dB = lora_backward(grad_output, cache, self.A, self.B, self.scale)
        return dx

    def update(self, lr):
        self.A = self.A - lr * self.dA
        self.B = self.B - lr * self.dB

    def get_merged_delta(self):
        return self.scale * self.B @ self.A
'''}, [], FULL, 2, "ok", ["passed"]),
    "h_unusual_style": ("honest", {"lora-task": '''
%load_ext autoreload
from dataclasses import dataclass
from collections import namedtuple
from functools import partial
from lora_course.lessons.l05_project import D_MODEL as _unused

Cache = namedtuple("Cache", "inputs low")


@dataclass
class _Shapes:
    d_in: int
    d_out: int
    r: int


class LoRA:
    __doc__ = "einsum everywhere"

    def __init__(self, d_in: int, d_out: int, r: int, alpha=None, init_scale=0.01, rng=None):
        shapes = _Shapes(d_in, d_out, r)
        draw = partial(rng.normal, 0.0, init_scale)
        self.A = draw(size=(shapes.r, shapes.d_in))
        self.B = np.zeros((shapes.d_out, shapes.r))
        self.alpha = r * 1.0 if alpha is None else alpha * 1.0
        self.r, self.scale = r, self.alpha / r
        self.dA, self.dB = 0 * self.A, 0 * self.B

    def forward(self, x):
        low = np.einsum("nk,rk->nr", x, self.A)
        print("forward", low.shape)
        return self.scale * np.einsum("nr,dr->nd", low, self.B), Cache(x, low)

    def backward(self, grad_output, cache):
        g = grad_output * self.scale
        self.dB = np.einsum("nd,nr->dr", g, cache.low)
        dlow = np.einsum("nd,dr->nr", g, self.B)
        self.dA = np.einsum("nr,nk->rk", dlow, cache.inputs)
        return np.einsum("nr,rk->nk", dlow, self.A)

    def update(self, lr):
        for name in ("A", "B"):
            setattr(self, name, getattr(self, name) - lr * getattr(self, "d" + name))

    get_merged_delta = lambda self: self.scale * np.einsum("dr,rk->dk", self.B, self.A)  # noqa: E731
'''}, [], FULL, 2, "ok", ["passed"]),
    "h_checks_in_answer": ("honest", {"lora-task": LORA + "\nrun_check('lora_init', globals())\n"
                           "import lora_course.validation as V\n"}, [], FULL, 2, "ok", ["passed"]),
    "h_pasted_copy": ("honest (pasted copy: a signal)", {"lora-task": _PASTED}, [], FULL, 2, "ok",
                      ["FLAGGED: compare by hand"]),
}
