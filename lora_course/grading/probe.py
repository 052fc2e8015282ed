"""What runs in the student's kernel after the notebook: hand back data, never a verdict.

Each probe cell prints one line ``<nonce> <json>``. The nonce is drawn by the grader and appears
nowhere before the probe runs, so no earlier cell can print a line the grader would accept; two
such lines in one cell count as tampering. Values travel as JSON (numbers, strings, tuples) and
arrays as ``.npy`` bytes in base64, read back with ``np.load(allow_pickle=False)``: nothing from the
kernel is ever unpickled or executed by the grader, and the grader judges it in its own process.

Project checks run from a fresh copy of the checks module's source, so patching the imported module
inside the notebook does not change what is collected. Inputs are chosen by the grader and sent in.
"""

from __future__ import annotations

import base64
import io
import json
import math
from typing import Any

import numpy as np

MAX_ARRAY_ELEMENTS = 2_000_000
MAX_LINE_CHARS = 64_000_000
_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Runs inside the kernel, wrapped in a function so that it leaves no names behind.
_KERNEL_HELPERS = r'''
import base64, io, json, sys, types
from fractions import Fraction
import numpy as np

def encode(value, depth=0):
    kind = type(value)
    if value is None or kind in (bool, str):
        return value if kind is not str else value[:10000]
    if kind is int:
        return value if abs(value) < 2 ** 63 else float(value)
    if kind is float:
        return value
    if kind is Fraction:
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return encode(value.item(), depth)
    if kind in (tuple, list) and depth == 0 and len(value) <= 1000:
        return {"__tuple__": [encode(v, 1) for v in value]}
    if kind is np.ndarray and value.dtype.kind in "biuf" and value.size <= MAX_ARRAY_ELEMENTS:
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    return {"__unsupported__": kind.__name__[:100]}

def decode(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
    return value

def emit(payload):
    print(NONCE, json.dumps(payload), flush=True)
'''


def encode_value(value: Any) -> Any:
    """Grader-side twin of the kernel's ``encode``, for the inputs the grader sends in."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    raise TypeError(f"inputs: expected numbers, strings or numeric arrays, got {type(value).__name__}")


def decode_value(value: Any) -> Any:
    """JSON from the kernel -> None, number, string, tuple or float/int ndarray (never an object)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
        return tuple(decode_value(v) for v in value["__tuple__"])
    if isinstance(value, dict) and set(value) == {"__ndarray__"} and isinstance(value["__ndarray__"], str):
        arr = np.load(io.BytesIO(base64.b64decode(value["__ndarray__"], validate=True)), allow_pickle=False)
        if arr.dtype.kind not in "biuf" or arr.size > MAX_ARRAY_ELEMENTS:
            raise ValueError(f"expected a numeric array of at most {MAX_ARRAY_ELEMENTS} numbers, got "
                             f"dtype {arr.dtype} with {arr.size}")
        return arr
    if isinstance(value, dict) and set(value) == {"__unsupported__"}:
        raise ValueError(f"the value is a {str(value['__unsupported__'])[:100]}, which the grader cannot read")
    raise ValueError(f"unexpected value in the probe's answer: {str(value)[:100]}")


def _wrap(nonce: str, body: str, **constants: Any) -> str:
    consts = "".join(f"    {name} = {value!r}\n" for name, value in constants.items())
    helpers = "".join(f"    {line}\n" for line in _KERNEL_HELPERS.strip("\n").split("\n"))
    main = "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    fn = f"_lora_course_probe_{nonce}"
    return (f"def {fn}():\n    NONCE = {nonce!r}\n    MAX_ARRAY_ELEMENTS = {MAX_ARRAY_ELEMENTS}\n"
            f"{consts}{helpers}{main}{fn}()\ndel {fn}\n")


def answers_probe(nonce: str, names: list[str]) -> str:
    """Probe cell that hands back the values of the named answer variables (``__missing__`` if undefined)."""
    body = '''
ns = get_ipython().user_ns
out = {}
for name in NAMES:
    try:
        out[name] = encode(ns[name]) if name in ns else {"__missing__": True}
    except Exception as err:
        out[name] = {"__unsupported__": type(err).__name__}
emit({"part": "answers", "values": out})
'''
    return _wrap(nonce, body, NAMES=list(names))


def project_probe(nonce: str, check: str, module_source: str, package: str, inputs: dict) -> str:
    """Probe cell that runs one check's ``collect`` (from a fresh copy of the module) on the grader's inputs."""
    body = '''
ns = get_ipython().user_ns
name = f"{PACKAGE}._graded_checks_{NONCE}"
module = types.ModuleType(name)
module.__package__ = PACKAGE
sys.modules[name] = module
try:
    exec(compile(SOURCE, "<project_checks>", "exec"), module.__dict__)
finally:
    sys.modules.pop(name, None)
inputs = {key: decode(value) for key, value in json.loads(INPUTS).items()}
try:
    data = module.CHECKS[CHECK].collect(ns, inputs)
    payload = {key: encode(value) for key, value in dict(data).items()}
    emit({"part": "project", "check": CHECK, "data": payload})
except NotImplementedError as err:
    emit({"part": "project", "check": CHECK, "error": f"not implemented yet ({str(err)[:300]})"})
except BaseException as err:
    emit({"part": "project", "check": CHECK, "error": f"your code raised {type(err).__name__}: {str(err)[:300]}"})
'''
    encoded = json.dumps({k: encode_value(v) for k, v in inputs.items()})
    return _wrap(nonce, body, CHECK=check, SOURCE=module_source, PACKAGE=package, INPUTS=encoded)


def read_probe(outputs: list[dict], nonce: str) -> dict:
    """The one ``<nonce> <json>`` line a probe cell printed, parsed; raises ValueError if absent or doubled."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    lines = [line for line in text.split("\n") if line.startswith(nonce + " ")]
    if not lines:
        errors = [f"{o.get('ename')}: {str(o.get('evalue'))[:200]}" for o in outputs if o.get("output_type") == "error"]
        raise ValueError("the probe printed nothing" + (f" ({errors[0]})" if errors else ""))
    if len(lines) > 1:
        raise ValueError(f"the probe's answer appeared {len(lines)} times (tampering?)")
    if len(lines[0]) > MAX_LINE_CHARS:
        raise ValueError(f"the probe's answer is longer than {MAX_LINE_CHARS} characters")
    payload = json.loads(lines[0][len(nonce) + 1:], parse_constant=_CONSTANTS.__getitem__)
    if not isinstance(payload, dict):
        raise ValueError("the probe's answer is not a JSON object")
    return payload
