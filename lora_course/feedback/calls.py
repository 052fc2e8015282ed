"""How a check calls the student's code, shared by every check's collect (in the kernel and in the grader).

A student's function can fail before its maths is judged: it returns nothing, returns a list or a ragged
list where an array is asked for, returns a tuple of the wrong length, raises, or never returns. Each of
these becomes a ``Diagnosis`` (a message and a hint) here, on the collect side, and ``guarded`` turns it
into plain data (``{"diagnosis": ..., "diagnosis_hint": ...}``) that travels like any collected value; the
judge (``lora_course.feedback.outcomes.judge_safely``) reports it before comparing anything. So the
notebook's feedback and the grader's verdict give the same diagnosis from one definition.

The time limit counts the CPU time of the kernel (``ITIMER_PROF``), not the wall clock: a right answer on a
busy machine never runs out of it, while a loop that never ends does. It needs the main thread (where a
kernel runs cells); elsewhere the check runs without a limit.
"""

from __future__ import annotations

import ast
import dis
import inspect
import os
import re
import signal
import sysconfig
import textwrap
import threading
import traceback
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

DIAGNOSIS, DIAGNOSIS_HINT = "diagnosis", "diagnosis_hint"
SECOND = "second:"       # a check's second call: its inputs (other sizes and values) and what it collected
SECOND_HINT = ("your function must work for any sizes and values: read d, k, r, n from the arguments' shapes "
               "(no numbers copied from the first input) and use only its arguments (no notebook variables)")
TIME_LIMIT_S = 5.0
GLOBALS_READ = "globals_read"   # the notebook variables the student's functions read instead of an argument
_CALLED: list = []             # the student's functions called by the running collect
RETURN_HINT = "add `return ...` with the result at the end of your function"


class Diagnosis(Exception):
    """A failure of the student's code found before its maths is compared with the reference."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class TimeLimit(BaseException):
    """The check's CPU-time limit ran out (a BaseException, so ``except Exception`` in a loop cannot swallow it)."""


# ------------------------------------------------------------------------------------- the student's frames

# The package's folder, numpy's and the standard library's: frames there are not the student's. (The grader's clean
# interpreter runs this source without a file of its own, and the student's cells there are "<answer cell ...>".)
_HERE = globals().get("__file__")
_OURS = tuple(os.path.realpath(p) + os.sep for p in {
    *([os.path.dirname(os.path.dirname(os.path.abspath(_HERE)))] if _HERE else []), os.path.dirname(np.__file__),
    *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))})


def _is_students(filename: str) -> bool:
    if filename.startswith("<"):
        return filename.startswith(("<ipython-input", "<answer cell"))
    return not os.path.realpath(filename).startswith(_OURS)


def raised(name: str, err: BaseException) -> Diagnosis:
    """A Diagnosis for ``err`` raised while calling the student's ``name``: their own line, no package frames."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_students(f.filename)]
    text = re.sub(r"[\w.]*<locals>\.", "", str(err))       # the check's own helper f, not _collect_x.<locals>.f
    what = f"{type(err).__name__}: {text}" if text else type(err).__name__
    if not frames:
        if isinstance(err, TypeError):
            return Diagnosis(f"{name} could not be called as the task asks ({what})",
                             "keep the signature the task gives: the same parameters, in the same order")
        return Diagnosis(f"{name} raised {what}", "run your function on a small input to see where it fails")
    last = frames[-1]
    where = f"line {last.lineno} of your code" + (f" (in {last.name})" if last.name not in ("<module>", name) else "")
    line = f": `{last.line.strip()}`" if last.line else ""
    text = str(err).lower()
    if "matmul" in text or "shapes" in text and "not aligned" in text or "broadcast" in text:
        hint = "the shapes in that line do not fit: print .shape of each operand; a transpose may be missing"
    elif isinstance(err, NameError):
        hint = "a name in that line is not defined inside your function: use its parameters, or check the spelling"
    elif isinstance(err, TypeError) and "positional argument" in text:
        hint = "that line calls a function with the wrong number of arguments: check what it takes"
    elif isinstance(err, (IndexError, KeyError)):
        hint = "an index in that line is out of range: check which axis you index and its length"
    else:
        hint = "fix that line; print the values it uses to see what goes wrong"
    return Diagnosis(f"{name} raised {what} at {where}{line}", hint)


def call(name: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` for the student's ``name``; an exception becomes a Diagnosis naming their line
    (``NotImplementedError`` passes through: it is an unwritten stub)."""
    if not callable(fn):
        raise Diagnosis(f"{name} is a {type(fn).__name__}, not a function", f"define {name} with `def {name}(...)`")
    _CALLED.append(fn)
    try:
        return fn(*args, **kwargs)
    except (NotImplementedError, Diagnosis):
        raise
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything; it is reported, not raised
        raise raised(name, err) from None


# ------------------------------------------------------------------------------------ what was returned

def returned_array(name: str, value) -> np.ndarray:
    """``value`` as a float array if it is a numeric numpy array; else a Diagnosis naming what it is."""
    if value is None:
        raise Diagnosis(f"your function returns nothing: {name} is None", RETURN_HINT)
    if isinstance(value, (list, tuple)):
        raise Diagnosis(f"{name} is a Python {type(value).__name__}, not a numpy array",
                        "return a numpy array: compute it with numpy operations on arrays (or wrap it: np.array(...))")
    if isinstance(value, np.ndarray) and value.dtype == object:
        raise Diagnosis(f"{name} is an array of Python objects (dtype object): its rows have different lengths or "
                        "hold arrays", "every row must have the same length: build one numeric array of the "
                        "expected shape")
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        raise Diagnosis(f"{name} holds complex numbers", "use np.linalg.eigh (symmetric matrices, real results), "
                        "not np.linalg.eig")
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise Diagnosis(f"{name} is a {type(value).__name__}"
                        + (f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else "")
                        + ", not a numeric numpy array", "return a numpy array of floats")
    return np.array(value, dtype=float)


def returned_number(name: str, value) -> float:
    """``value`` as a float if it is one real number (a Python or numpy scalar, or a 0-d array)."""
    if value is None:
        raise Diagnosis(f"your function returns nothing: {name} is None", RETURN_HINT)
    if isinstance(value, (bool, str, list, tuple, dict)) or np.ndim(value) != 0:
        raise Diagnosis(f"{name} is a {type(value).__name__}" + (f" of shape {np.shape(value)}" if np.ndim(value)
                        else "") + ", not one number", "return a single float, e.g. float(...)")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Diagnosis(f"{name} is a {type(value).__name__}, not a number", "return a single float") from None


def returned_tuple(name: str, value, names: tuple[str, ...]) -> tuple:
    """A returned tuple of ``len(names)`` parts (``names`` say what the task asks for, in order)."""
    want = f"({', '.join(names)})"
    if value is None:
        raise Diagnosis(f"your function returns nothing: {name} should return {want}", RETURN_HINT)
    if not isinstance(value, (tuple, list)):
        raise Diagnosis(f"{name} returned a single {type(value).__name__}; it should return {len(names)} values "
                        f"{want}", f"end with `return {', '.join(names)}`")
    if len(value) != len(names):
        raise Diagnosis(f"{name} returned {len(value)} value(s); it should return {len(names)}: {want}",
                        f"end with `return {', '.join(names)}`, in that order")
    return tuple(value)


def value_and_cache(name: str, value, names: tuple[str, str] = ("result", "cache")) -> tuple:
    """A returned (array, cache) pair; a Diagnosis names (cache, array), the pair in the wrong order."""
    first, cache = returned_tuple(name, value, names)
    if isinstance(first, (tuple, dict)) and isinstance(cache, np.ndarray):      # a cache is a tuple or a dict
        raise Diagnosis(f"{name} returns ({names[1]}, {names[0]}): the array comes second",
                        f"return ({names[0]}, {names[1]}): the array {names[0]} first, then the cache")
    return first, cache


# ---------------------------------------------------------------------------------------- time and guard

@contextmanager
def time_limit(seconds: float | None):
    """Raise TimeLimit in the code run inside once it has used ``seconds`` of CPU time (main thread only)."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_timer(signum, frame):
        raise TimeLimit(seconds)

    previous = signal.signal(signal.SIGPROF, on_timer)
    signal.setitimer(signal.ITIMER_PROF, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def globals_read(functions: list) -> str:
    """'f reads the notebook variable X' for each array or number a student's function (or its method) reads
    from the notebook instead of taking it as an argument ('' if none)."""
    found = []
    for fn in dict.fromkeys(f for f in functions if callable(f)):
        fn = getattr(fn, "__func__", fn)
        if type(fn).__name__ != "function" or not _is_students(fn.__code__.co_filename):
            continue
        codes, names = [fn.__code__], []
        while codes:
            code = codes.pop()
            codes += [c for c in code.co_consts if type(c).__name__ == "code"]
            names += [i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"]
        for name in dict.fromkeys(names):
            value = fn.__globals__.get(name)
            if type(value).__name__ == "ndarray" or type(value) in (int, float) and name not in _CONSTANT_NAMES \
                    or type(value).__name__ in _INSTANCES:
                found.append(f"{fn.__name__} reads the notebook variable {name}")
    return "; ".join(found)


_CONSTANT_NAMES = ("D_MODEL", "D_FF", "EPOCHS", "LR", "SEED")
_INSTANCES = ("LoRA", "FrozenNetwork", "ClassificationHead", "Generator", "Adapter")   # objects a task passes in


def second_inputs(inputs: dict) -> dict | None:
    """The inputs of a check's second call: ``inputs`` with each ``second:<key>`` value in place of ``<key>``
    (None when the check has none). A function that only works for the first input's sizes or values (numbers
    typed in from it, a notebook variable read instead of an argument) fails there."""
    if not isinstance(inputs, dict):
        return None
    second = {k[len(SECOND):]: v for k, v in inputs.items() if isinstance(k, str) and k.startswith(SECOND)}
    if not second:
        return None
    return {**{k: v for k, v in inputs.items() if not (isinstance(k, str) and k.startswith(SECOND))}, **second}


def _second_call(collect: Callable[[dict, dict], dict], namespace: dict, inputs: dict) -> dict:
    """``collect`` on the second input, its keys prefixed; a failure there is a Diagnosis that says where."""
    where = f" (on the check's second input, {inputs.get('about', 'of other sizes')})"
    try:
        data = collect(namespace, inputs)
    except Diagnosis as found:
        raise Diagnosis(found.message + where, f"{SECOND_HINT}; {found.hint}") from None
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything; it is reported, not raised
        found = raised("your function", err)
        raise Diagnosis(found.message + where, f"{SECOND_HINT}; {found.hint}") from None
    if isinstance(data, dict) and DIAGNOSIS in data:
        raise Diagnosis(str(data[DIAGNOSIS]) + where, f"{SECOND_HINT}; {data.get(DIAGNOSIS_HINT, '')}")
    return {SECOND + k: v for k, v in data.items()} if isinstance(data, dict) else {}


def guarded(collect: Callable[[dict, dict], dict], seconds: float | None = TIME_LIMIT_S
            ) -> Callable[[dict, dict], dict]:
    """``collect`` under a CPU-time limit, with every Diagnosis (or the limit) returned as plain data; a check
    whose inputs hold a second input (``second_inputs``) is collected on both."""

    def guarded_collect(namespace: dict, inputs: dict) -> dict:
        _CALLED.clear()
        try:
            with time_limit(seconds):
                data = collect(namespace, inputs)
                second = second_inputs(inputs)
                if second is not None and isinstance(data, dict) and DIAGNOSIS not in data:
                    data = {**data, **_second_call(collect, namespace, second)}
        except Diagnosis as found:
            data = {DIAGNOSIS: found.message, DIAGNOSIS_HINT: found.hint}
        except TimeLimit:
            data = {DIAGNOSIS: f"your function did not return within {seconds:g} s of computing time",
                    DIAGNOSIS_HINT: "look for a loop that never ends (a while loop whose condition never changes)"}
        reads = globals_read(_CALLED)
        _CALLED.clear()
        return {**data, GLOBALS_READ: reads} if reads and isinstance(data, dict) else data

    guarded_collect.__name__ = guarded_collect.__qualname__ = getattr(collect, "__name__", "collect")
    guarded_collect.__wrapped__ = collect
    return guarded_collect


# ------------------------------------------------------------------------------------- loops in the source

_LOOPS = {ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
          ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
          ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression"}
_PER_ITEM = ("map", "vectorize", "apply_along_axis", "frompyfunc", "fromiter")


def _loops_in(fn, namespace: dict, seen: set, callees: tuple[str, ...] | None = None) -> list[str]:
    """Loops (or, given ``callees``, calls of those names) in ``fn`` and the student's functions it calls."""
    if id(fn) in seen or not inspect.isfunction(fn):
        return []
    seen.add(id(fn))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    found = []
    for node in ast.walk(tree):
        if callees is None and type(node) in _LOOPS:
            found.append(f"{_LOOPS[type(node)]} in {fn.__name__} (line {node.lineno} of its definition)")
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if callee in (_PER_ITEM if callees is None else callees):
                found.append(f"{callee}(...) in {fn.__name__}" + (", which calls Python once per item"
                                                                  if callees is None else ""))
            elif isinstance(node.func, ast.Name):
                helper = namespace.get(callee, fn.__globals__.get(callee))
                if inspect.isfunction(helper) and _is_students(helper.__code__.co_filename):
                    found += _loops_in(helper, namespace, seen, callees)
    return found


def loops(fn, namespace: dict) -> str:
    """The Python-level loops in ``fn`` and the student's functions it calls ('' if none, or no source)."""
    return "; ".join(dict.fromkeys(_loops_in(fn, namespace, set())))


def calls_of(fn, namespace: dict, callees: tuple[str, ...]) -> str:
    """The calls of any of ``callees`` (bare or attribute names, e.g. ``svd``) in ``fn`` and the student's
    functions it calls ('' if none, or no source): a shortcut the task rules out."""
    return "; ".join(dict.fromkeys(_loops_in(fn, namespace, set(), tuple(callees))))
