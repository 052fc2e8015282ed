"""What runs in the student's kernel after the notebook: hand back data, never a verdict.

Each probe has its own nonce, drawn by the grader when the probe is sent. It is not run as a cell:
the grader evaluates it through ``user_expressions`` of a silent execute request, so IPython's input
transformers, cell events (``pre_run_cell``...), display hooks and the ``print`` the student may have
wrapped never see it. The probe writes its JSON answer to ``<channel folder>/<nonce>``, created with
``O_EXCL | O_NOFOLLOW`` in a folder the kernel may create files in but not list: stdout is not read at
all, and nothing printed or written earlier can be taken for an answer. Before reading anything the
probe looks for tools the student could have hooked (a trace or profile function, replaced builtins,
``json``/``numpy`` functions that are not theirs); if it finds one the grader rejects the probe.
Values travel as JSON (numbers, strings, tuples) and arrays as ``.npy`` bytes in base64, read back
with ``np.load(allow_pickle=False)``: nothing from the kernel is ever unpickled or executed by the
grader, and the grader judges it in its own process.

Project checks run from a fresh copy of the checks module's source (any module with ``CHECKS[name]
.collect(namespace, inputs)``), so patching the imported module inside the notebook does not change
what is collected. Inputs are chosen by the grader and sent in.
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
import base64, io, json, os, sys, types
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

def hooks():
    import builtins
    found = []
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("a trace or profile function")
    import threading
    if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
        found.append("a thread trace hook")
    for name in ("exec", "compile", "open", "print", "__import__", "getattr", "isinstance", "type", "len",
                 "dict", "list", "str", "repr"):
        if type(getattr(builtins, name)).__name__ not in ("builtin_function_or_method", "type"):
            found.append(f"builtins.{name}")
    for module, names in ((json, ("dumps",)), (base64, ("b64encode",)), (np, ("save", "asarray"))):
        for name in names:
            fn = getattr(module, name, None)
            code = getattr(getattr(fn, "__code__", None), "co_filename", None)
            if code is None and type(fn).__module__.split(".")[0] in ("builtins", "numpy"):
                continue                      # a C function (numpy's dispatchers too)
            if module.__name__.split(".")[0] not in str(code).replace("\\", "/"):
                found.append(f"{module.__name__}.{name}")
    return found

def emit(payload):
    payload = dict(payload, hooks=HOOKS)
    data = json.dumps(payload).encode()
    fd = os.open(CHANNEL, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
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


def _wrap(nonce: str, channel_dir: str, body: str, **constants: Any) -> str:
    consts = "".join(f"    {name} = {value!r}\n" for name, value in constants.items())
    helpers = "".join(f"    {line}\n" for line in _KERNEL_HELPERS.strip("\n").split("\n"))
    main = "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    channel = f"{channel_dir.rstrip('/')}/{nonce}"
    return (f"def probe():\n    USER_NS = _lora_course_user_ns\n    NONCE = {nonce!r}\n    CHANNEL = {channel!r}\n"
            f"    MAX_ARRAY_ELEMENTS = {MAX_ARRAY_ELEMENTS}\n"
            f"{consts}{helpers}    HOOKS = hooks()\n{main}probe()\n")


def as_expression(source: str, user_ns_name: str = "_lora_course_user_ns") -> str:
    """The probe as one expression for ``user_expressions``: runs ``source`` in a namespace of its own,
    with the kernel's user namespace passed in (so it leaves no names behind)."""
    return f"exec({source!r}, {{'__builtins__': __builtins__, {user_ns_name!r}: globals()}})"


def answers_probe(nonce: str, names: list[str], channel_dir: str) -> str:
    """Probe source that hands back the values of the named answer variables (``__missing__`` if undefined)."""
    body = '''
ns = USER_NS
out = {}
for name in NAMES:
    try:
        out[name] = encode(ns[name]) if name in ns else {"__missing__": True}
    except Exception as err:
        out[name] = {"__unsupported__": type(err).__name__}
emit({"part": "answers", "values": out})
'''
    return _wrap(nonce, channel_dir, body, NAMES=list(names))


def project_probe(nonce: str, check: str, module_source: str, package: str, inputs: dict,
                  channel_dir: str) -> str:
    """Probe source that runs one check's ``collect`` (from a fresh copy of the module) on the grader's inputs."""
    body = '''
ns = USER_NS
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
    return _wrap(nonce, channel_dir, body, CHECK=check, SOURCE=module_source, PACKAGE=package, INPUTS=encoded)


def read_payload(data: bytes | None, error: str = "") -> dict:
    """The JSON object a probe wrote to its channel file; raises ValueError if absent, unreadable or hooked."""
    if data is None:
        raise ValueError("the probe wrote nothing" + (f" ({error})" if error else ""))
    if len(data) > MAX_LINE_CHARS:
        raise ValueError(f"the probe's answer is longer than {MAX_LINE_CHARS} bytes")
    try:
        payload = json.loads(data.decode("utf-8"), parse_constant=_CONSTANTS.__getitem__)
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        raise ValueError("the probe's answer is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("the probe's answer is not a JSON object")
    hooks = payload.get("hooks")
    if hooks:
        shown = ", ".join(str(h)[:60] for h in hooks[:5]) if isinstance(hooks, list) else "?"
        raise ValueError(f"tampering: student code hooked the tools the probe uses ({shown})")
    return payload
