"""What the guard's probe runner reads and writes with: the C-level tools captured before any student code,
the check for replaced builtins and library functions, the exact-type JSON encoding of the probe's answer, and
the quiet spell under which the runner works (no garbage collection, no Python signal handler, no thread switch).

Every function here takes what it uses as default arguments (never a global name a notebook could rebind), and
the guard's audit hook stops the kernel when any function of this file, or of guard.py, is changed.
"""

from __future__ import annotations

import sys

WATCHED_BUILTINS = ("exec", "eval", "compile", "open", "print", "__import__", "getattr", "isinstance", "type",
                    "len", "dict", "list", "str", "repr")      # replaced: tampering (the probe no longer uses them)


def _tools() -> dict:
    """C-level functions and types the runner encodes and writes with, and the library functions it checks."""
    import binascii
    import builtins
    import fractions
    import gc
    import hashlib
    import os
    import signal
    from types import MappingProxyType
    tools = {"open": os.open, "write": os.write, "close": os.close, "b64": binascii.b2a_base64,
             "flags": os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, "Fraction": fractions.Fraction,
             "builtins": builtins, "ndarray": None, "scalar_types": (), "sha256": hashlib.sha256,
             "blake2b": hashlib.blake2b, "typename": type.__dict__["__name__"].__get__,
             "gc_enabled": gc.isenabled, "gc_enable": gc.enable, "gc_disable": gc.disable,
             "getswitch": sys.getswitchinterval, "setswitch": sys.setswitchinterval,
             "getsignal": signal.getsignal, "signal": signal.signal, "SIG_IGN": signal.SIG_IGN,
             "SIG_DFL": signal.SIG_DFL, "SIGINT": signal.SIGINT, "default_int": signal.default_int_handler,
             "signals": tuple(sorted(int(n) for n in signal.valid_signals()
                                     if n not in (signal.SIGKILL, signal.SIGSTOP)))}
    watched = []
    for name in ("json", "base64", "io"):
        module = __import__(name)
        watched.append((name, module, MappingProxyType(dict(vars(module)))))
    try:
        import numpy as np
        tools.update(ndarray=np.ndarray,                # exact types only: a subclass's methods never run
                     scalar_types=tuple(np.dtype(c).type for c in "?bBhHiIlLqQefdg"))
        watched.append(("numpy", np, MappingProxyType({k: getattr(np, k) for k in ("save", "asarray", "array")})))
    except ImportError:                               # pragma: no cover - numpy is a dependency
        pass
    tools["watched"] = tuple(watched)
    return tools


def _found_hooks(trusted, tools, _getattr=getattr, _watched=WATCHED_BUILTINS, _vars=vars, _str=str):
    """Builtins and library functions that are no longer the ones of before the notebook (names only)."""
    found = ()
    now = _vars(tools["builtins"])
    for name in _watched:
        if now.get(name) is not trusted[name]:
            found += ("builtins." + name,)
    for name, module, snapshot in tools["watched"]:
        for attr in snapshot:
            if _getattr(module, attr, None) is not snapshot[attr]:
                found += (name + "." + _str(attr),)
    return found


def _scalar(v, tools, _type=type, _float=float, _int=int, _repr=repr, _isinstance=isinstance, _abs=abs,
            _str=str, _bool=bool):
    """One JSON value (text) for None, bool, int, float, str, Fraction or a numeric numpy scalar; else None."""
    t = _type(v)
    if v is None:
        return "null"
    if t is _bool:
        return "true" if v else "false"
    if t is _int:
        if _abs(v) < 2 ** 63:
            return _int.__repr__(v)
        return _scalar(_float(v), tools) if _abs(v) < 2 ** 1023 else ("Infinity" if v > 0 else "-Infinity")
    if t is _float:
        text = _float.__repr__(v)
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)
    if t is _str:
        return _quote(v[:10000])
    if t is tools["Fraction"] and _type(v.numerator) is _int and _type(v.denominator) is _int:
        return _quote(_int.__repr__(v.numerator) + "/" + _int.__repr__(v.denominator))
    for scalar_type in tools["scalar_types"]:
        if t is scalar_type:                            # numpy's own type: item() is numpy's C method
            return _scalar(v.item(), tools)
    return None


def _quote_table():
    from types import MappingProxyType
    table = {c: f"\\u{c:04x}" for c in range(32)}
    table.update({ord('"'): '\\"', ord("\\"): "\\\\"})
    table.update({c: "?" for c in range(0xD800, 0xE000)})            # lone surrogates are not UTF-8
    return MappingProxyType(table)


_QUOTE_TABLE = _quote_table()


def _quote(s, _table=_QUOTE_TABLE, _translate=str.translate):
    """A JSON string literal (C methods only: str.translate with a fixed, read-only table)."""
    return '"' + _translate(s, _table) + '"'


def _array(v, tools, _repr=repr, _len=len, _str=str):
    """The ``.npy`` bytes of a numeric C-contiguous copy of ``v``, base64 (read back with np.load, no pickle)."""
    dtype = v.dtype
    if dtype.kind not in "biuf" or dtype.fields is not None or v.size > 2_000_000:
        return None
    header = "{'descr': " + _repr(dtype.str) + ", 'fortran_order': False, 'shape': " + _repr(v.shape) + ", }"
    pad = 64 - (10 + _len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    data = b"\x93NUMPY\x01\x00" + _len(header).to_bytes(2, "little") + header + v.tobytes()
    return '{"__ndarray__": "' + tools["b64"](data, newline=False).decode("ascii") + '"}'


def _encode(v, tools, depth=0, _type=type, _len=len, _tuple=tuple, _list=list):
    """The JSON text of one probe value: like probe.encode_value, by exact type, no student code runs."""
    text = _scalar(v, tools)
    if text is not None:
        return text
    t = _type(v)
    if (t is _tuple or t is _list) and depth == 0 and _len(v) <= 1000:
        return '{"__tuple__": [' + ", ".join([_encode(x, tools, 1) for x in v]) + "]}"
    if t is tools["ndarray"]:
        text = _array(v, tools)
        if text is not None:
            return text
    name = tools["typename"](t)                         # type's own getter: no metaclass property runs
    return '{"__unsupported__": ' + _quote(name[:100]) + "}"


def _json(obj, tools, _type=type, _dict=dict, _str=str, _tuple=tuple, _len=len):
    """The probe's ``RESULT`` as JSON text: its own dicts and strings, and ``("__value__", value)`` pairs
    whose value (the student's) goes through _encode."""
    t = _type(obj)
    if t is _dict:
        return "{" + ", ".join([_quote(_str(k)) + ": " + _json(v, tools) for k, v in _dict.items(obj)
                                if _type(k) is _str]) + "}"
    if t is _tuple and _len(obj) == 2 and _type(obj[0]) is _str and obj[0] == "__value__":
        try:
            return _encode(obj[1], tools)
        except Exception:  # noqa: BLE001 - that answer is unreadable; the others are still graded
            return '{"__unsupported__": "value that could not be encoded"}'
    return _encode(obj, tools)


def _quiet(tools, saved=None, _callable=callable):
    """Stop student code from running unasked while the probe runs: no garbage collection (so no ``gc.callbacks``
    and no finalizers of cycles), no Python signal handler (SIGINT keeps the default: the grader's interrupt),
    no switch to another thread. Returns what to restore (``saved``, given again, is kept: the state of before)."""
    state = saved if saved is not None else {"gc": tools["gc_enabled"](), "switch": tools["getswitch"](),
                                             "handlers": {}}
    tools["gc_disable"]()
    tools["setswitch"](100.0)
    for number in tools["signals"]:
        try:
            handler = tools["getsignal"](number)
        except Exception:  # noqa: BLE001, S112 - not a signal this platform has
            continue
        if handler is None or handler is tools["SIG_IGN"] or handler is tools["SIG_DFL"] or \
                handler is tools["default_int"] or not _callable(handler):
            continue
        try:
            tools["signal"](number, tools["default_int"] if number == tools["SIGINT"] else tools["SIG_IGN"])
        except Exception:  # noqa: BLE001, S112 - not the main thread: then no Python handler runs here either
            continue
        state["handlers"].setdefault(number, handler)
    return state


def _restore(tools, state):
    """Give back the garbage collector, the switch interval and the signal handlers of before the probe."""
    for number, handler in state["handlers"].items():
        try:
            tools["signal"](number, handler)
        except Exception:  # noqa: BLE001, S112 - as it was when it could not be replaced
            continue
    tools["setswitch"](state["switch"])
    if state["gc"]:
        tools["gc_enable"]()
