"""What runs in the student's kernel after the notebook: hand back data, never a verdict.

Each probe has its own nonce, drawn by the grader when the probe is sent. It is not run as a cell:
the grader evaluates it through ``user_expressions`` of a silent execute request, so IPython's input
transformers, cell events (``pre_run_cell``...), display hooks and the ``print`` the student may have
wrapped never see it. The expression looks up no name (``as_expression``: a string literal and ``str.encode``
with the codec guard.py registered before any student code), and the guard's runner runs the probe with the
builtins of before the notebook, encodes the ``RESULT`` it leaves with C-level tools (no ``json``, ``base64``
or ``numpy`` function the student could replace) and writes it to ``<channel folder>/<nonce>``, created with
``O_EXCL | O_NOFOLLOW`` in a folder the kernel may create files in but not list. The file's first line is
the list of replaced builtins and library functions the runner found before the probe ran; any means
tampering. The grader reads a file only for a probe that succeeded (``read_payload``): a failed probe is a
failed probe even if a file with its name exists. Hooks that watch code run (audit, trace, profile) stop the
kernel (guard.py). Values travel as JSON (numbers, strings, tuples) and arrays as ``.npy`` bytes in base64,
read back with ``np.load(allow_pickle=False)``: nothing from the kernel is ever unpickled or executed by the
grader, and the grader judges it in its own process.

Project checks run from a fresh copy of the checks module's source (any module with ``CHECKS[name]
.collect(namespace, inputs)``), so patching the imported module inside the notebook does not change
what is collected. Inputs are chosen by the grader and sent in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
from typing import Any

import numpy as np

from lora_course.grading.guard import PROBE_CODEC

MAX_ARRAY_ELEMENTS = 2_000_000
MAX_LINE_CHARS = 64_000_000
_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Runs inside the kernel (through guard.make_runner's runner): decodes the grader's inputs.
_KERNEL_HELPERS = r'''
import base64, io, json, sys, types
import numpy as np

def decode(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
    return value
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


def _wrap(nonce: str, channel_dir: str, body: str, helpers: bool = False, **constants: Any) -> str:
    """The probe's source: ``# CHANNEL <file>`` (read by the runner before anything runs), constants, body."""
    consts = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    channel = f"{channel_dir.rstrip('/')}/{nonce}"
    return (f"# CHANNEL {channel}\nNONCE = {nonce!r}\nMAX_ARRAY_ELEMENTS = {MAX_ARRAY_ELEMENTS}\n{consts}"
            f"{_KERNEL_HELPERS if helpers else ''}\n{body.strip()}\n")


def as_expression(source: str) -> str:
    """The probe as one expression for ``user_expressions`` that looks up no name: a string literal and
    ``str.encode`` with the codec that guard.py registered first, whose runner runs ``source``."""
    return f"{source!r}.encode({PROBE_CODEC + 'run'!r})"


def answers_probe(nonce: str, names: list[str], channel_dir: str) -> str:
    """Probe source that hands back the values of the named answer variables (``__missing__`` if undefined).

    It reads the namespace with ``dict.items`` and compares exact ``str`` keys only, so no student code
    (a key's ``__eq__``, a dict subclass's ``__getitem__``) runs while it reads."""
    body = '''
found = {}
for key, value in dict.items(USER_NS):
    if type(key) is str and key in NAMES and key not in found:
        found[key] = value
RESULT = {"part": "answers", "values": {name: ("__value__", found[name]) if name in found
                                          else {"__missing__": True} for name in NAMES}}
'''
    return _wrap(nonce, channel_dir, body, NAMES=tuple(names))


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
    RESULT = {"part": "project", "check": CHECK,
              "data": {str(key): ("__value__", value) for key, value in dict(data).items()}}
except NotImplementedError as err:
    RESULT = {"part": "project", "check": CHECK, "error": f"not implemented yet ({str(err)[:300]})"}
except BaseException as err:
    RESULT = {"part": "project", "check": CHECK, "error": f"your code raised {type(err).__name__}: {str(err)[:300]}"}
'''
    encoded = json.dumps({k: encode_value(v) for k, v in inputs.items()})
    return _wrap(nonce, channel_dir, body, helpers=True, CHECK=check, SOURCE=module_source, PACKAGE=package,
                 INPUTS=encoded)


def verify(data: bytes | None, source: str, key: bytes) -> bytes | None:
    """What the guard's runner wrote for probe ``source``, without its MAC line; None if the file is absent or
    was not written by the runner for this very source (a file planted or rewritten by student code)."""
    if data is None:
        return None
    mac, newline, rest = data.partition(b"\n")
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    expected = hashlib.blake2b(digest + rest, key=key).hexdigest().encode("ascii")
    return rest if newline and hmac.compare_digest(mac, expected) else None


def read_payload(data: bytes | None, error: str = "") -> dict:
    """The JSON object a probe's runner wrote to its channel file (after its first line, the hooks it found);
    raises ValueError if the probe failed (``error``: its error, even when the file exists), if the file is
    absent or unreadable, or if hooks were found."""
    if error:
        raise ValueError(f"the probe failed ({error})")
    if data is None:
        raise ValueError("the probe wrote nothing")
    if len(data) > MAX_LINE_CHARS:
        raise ValueError(f"the probe's answer is longer than {MAX_LINE_CHARS} bytes")
    head, newline, body = data.partition(b"\n")
    try:
        hooks = json.loads(head.decode("utf-8"))
        payload = json.loads(body.decode("utf-8"), parse_constant=_CONSTANTS.__getitem__)
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        raise ValueError("the probe's answer is not valid JSON") from None
    if not newline or not isinstance(hooks, list):
        raise ValueError("the probe's answer has no list of hooks on its first line")
    if not isinstance(payload, dict):
        raise ValueError("the probe's answer is not a JSON object")
    if hooks:
        shown = ", ".join(str(h)[:60] for h in hooks[:5]) if isinstance(hooks, list) else "?"
        raise ValueError(f"tampering: student code hooked the tools the probe uses ({shown})")
    return payload
