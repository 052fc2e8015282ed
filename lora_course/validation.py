"""Input checks shared by the package: every error names the parameter, what was expected and what was received.

All checks raise ``InputError`` (a ``ValueError``) or ``InputTypeError`` (both an ``InputError`` and a
``TypeError``), with a message that starts with the parameter's name as the caller wrote it:
``"scale: expected a finite number, got nan"``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable

import numpy as np


class InputError(ValueError):
    """A bad argument to a lora_course function; the message starts with the parameter's name."""


class InputTypeError(InputError, TypeError):
    """A bad argument of the wrong type (also a ``TypeError``)."""


def _describe(x) -> str:
    text = repr(x)
    return (text[:60] + "...") if len(text) > 63 else text


# The most array elements (or steps, rows, bootstrap draws) one call may ask for: 2**27 float64 values are 1 GiB.
MAX_ELEMENTS = 2**27
_KINDS = {"b": "booleans", "c": "complex numbers", "O": "Python objects", "U": "strings", "S": "bytes"}


def _asarray(name: str, x) -> np.ndarray:
    if type(x) is not np.ndarray and isinstance(x, np.ma.MaskedArray):   # np.asarray would drop the mask
        raise InputTypeError(f"{name}: expected a plain numeric array, got a masked array (its mask would be ignored)")
    try:
        return x if type(x) is np.ndarray else np.asarray(x) if x is not None else np.asarray(x, dtype=object)
    except (ValueError, TypeError, OverflowError) as err:   # ragged nested lists, ints beyond int64
        raise InputTypeError(f"{name}: expected a numeric array, got {type(x).__name__} that numpy cannot "
                             f"read as one ({str(err).split('. ')[0]})") from None


def _read(name: str, x) -> np.ndarray:
    """``x`` as an ndarray of a real dtype numpy's linear algebra supports (others refused by name: float16 ...)."""
    arr = _asarray(name, x)
    kind = arr.dtype.kind
    if kind not in "iuf":
        raise InputTypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype} "
                             f"({_KINDS.get(kind, 'not numbers')})")
    if kind == "f" and arr.dtype.itemsize not in (4, 8):
        raise InputTypeError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype} (numpy's linear "
                             f"algebra has no {arr.dtype}; pass {name}.astype(np.float32))")
    return arr


def as_array(name: str, x, ndim: int | None = None, *, allow_empty: bool = True) -> np.ndarray:
    """Return ``x`` as a finite real (integer, float32 or float64) ndarray, or raise naming the problem."""
    arr = _read(name, x)
    kind = arr.dtype.kind
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name}: expected a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise InputError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if kind == "f" and not (finite := np.isfinite(arr)).all():
        bad = int(arr.size - np.count_nonzero(finite))
        raise InputError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return arr


def as_real(name: str, x, ndim: int | None = None) -> np.ndarray:
    """``x`` as a real ndarray of ``ndim`` dimensions, without the finiteness scan: for weights on hot forward paths
    (a NaN weight gives NaN outputs; a scan per call would change what lesson 04 times). Inputs use ``as_array``."""
    arr = _read(name, x)
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name}: expected a {ndim}-D array, got {arr.ndim}-D with shape {arr.shape}")
    return arr


def as_float_array(name: str, x, ndim: int | None = None, *, allow_empty: bool = True) -> np.ndarray:
    """Like ``as_array``, with integer input converted to float64 (float input keeps its dtype)."""
    arr = as_array(name, x, ndim, allow_empty=allow_empty)
    return arr.astype(np.float64) if arr.dtype.kind in "iu" else arr


def check_rng(rng) -> np.random.Generator:
    """``rng`` must be a numpy Generator (the course never seeds globally)."""
    if not isinstance(rng, np.random.Generator):
        raise InputTypeError(f"rng: expected a numpy Generator (np.random.default_rng(seed)), "
                             f"got {type(rng).__name__}")
    return rng


def check_shape(name: str, x, expected: tuple, meaning: str = "") -> None:
    """Raise if ``x.shape`` differs from ``expected`` (``None`` entries match anything)."""
    shape = x.shape if type(x) is np.ndarray else _asarray(name, x).shape
    ok = len(shape) == len(expected)
    if ok:
        for e, s in zip(expected, shape, strict=True):   # a plain loop: runs on every forward call
            if e is not None and e != s:
                ok = False
                break
    if not ok:
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + "," * (len(expected) == 1) + ")"
        extra = f" {meaning}" if meaning else ""
        flipped = len(shape) == len(expected) >= 2 and shape[::-1] != shape and all(
            e is None or e == s for e, s in zip(expected, shape[::-1], strict=True))
        hint = f" (that is the transpose of the expected shape: pass {name}.T)" if flipped else ""
        raise InputError(f"{name}: expected shape {want}{extra}, got {tuple(shape)}{hint}")


def check_int(name: str, value, minimum: int | None = None, upper: int | None = None) -> int:
    """Return ``value`` as an int in [minimum, upper] (either bound optional), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{name}: expected an integer, got {_describe(value)} ({type(value).__name__})")
    if not -2**63 <= value < 2**63:
        raise InputError(f"{name}: expected an integer that fits in 64 bits, got {value}")
    if minimum is not None and value < minimum:
        raise InputError(f"{name}: expected an integer >= {minimum}, got {value}")
    if upper is not None and value > upper:
        raise InputError(f"{name}: expected an integer <= {upper}, got {value}")
    return int(value)


def check_positive_int(name: str, value, upper: int | None = None) -> int:
    """Return ``value`` as an int in [1, upper] (a size or count: upper defaults to ``MAX_ELEMENTS``), or raise."""
    if upper is None and check_int(name, value, 1) > MAX_ELEMENTS:
        raise InputError(f"{name}: expected at most {MAX_ELEMENTS:,} (a size or count beyond that allocates "
                         f"gigabytes), got {value}")
    return check_int(name, value, 1, upper)


def check_rank(r, d: int, k: int, name: str = "r") -> int:
    """A LoRA rank must satisfy 1 <= r <= min(d, k)."""
    if isinstance(r, bool) or not isinstance(r, numbers.Integral):
        raise InputTypeError(f"{name}: expected an integer rank, got {_describe(r)} ({type(r).__name__})")
    if not 1 <= r <= min(d, k):
        raise InputError(f"{name}: expected 1 <= {name} <= min(d, k) = {min(d, k)} for a ({d}, {k}) weight, got {r}")
    return int(r)


def check_number(name: str, value, *, minimum: float | None = None, strict: bool = True,
                 maximum: float | None = None, max_strict: bool = False, what: str = "a finite number") -> float:
    """``value`` as a finite float within the bounds given (``strict``: >, ``max_strict``: <); 0-d arrays count."""
    if type(value) is float and minimum is None and maximum is None and math.isfinite(value):
        return value                        # the common case, kept cheap for per-call checks
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name}: expected {what}, got {_describe(value)} ({type(value).__name__})")
    try:
        v = float(value)
    except OverflowError:                   # an int or Fraction beyond float's range
        v = math.inf
    low_bad = minimum is not None and (v <= minimum if strict else v < minimum)
    high_bad = maximum is not None and (v >= maximum if max_strict else v > maximum)
    if not np.isfinite(v) or low_bad or high_bad:
        bounds = []
        if minimum is not None:
            bounds.append(f"{'>' if strict else '>='} {minimum:g}")
        if maximum is not None:
            bounds.append(f"{'<' if max_strict else '<='} {maximum:g}")
        raise InputError(f"{name}: expected {what}{' ' + ' and '.join(bounds) if bounds else ''}, "
                         f"got {_describe(value)}")
    return v


def check_open_interval(name: str, value, low: float, high: float, what: str = "a number") -> float:
    """Return ``value`` as a float strictly between ``low`` and ``high`` (a confidence level, a probability)."""
    want = f"{what} in ({low:g}, {high:g})"
    v = check_number(name, value, what=want)
    if not low < v < high:
        raise InputError(f"{name}: expected {want}, got {value!r}")
    return v


def check_alpha(alpha, name: str = "alpha") -> float:
    """``alpha`` must be a finite number > 0."""
    return check_number(name, alpha, minimum=0)


def check_scale(scale, name: str = "scale") -> float:
    """The LoRA multiplier ``scale`` (alpha / r): one finite real number (an array would broadcast)."""
    return check_number(name, scale, what="a finite number (one scalar)")


def check_choice(name: str, value, options: Iterable) -> object:
    """``value`` must be one of ``options``."""
    options = tuple(options)
    try:
        ok = value in options
    except (TypeError, ValueError):   # unhashable, uncomparable or an array
        ok = False
    if not ok or isinstance(value, bool):
        raise InputError(f"{name}: expected one of {options}, got {_describe(value)}")
    return value


def check_callable(name: str, f, args: tuple | None = None, kwargs: dict | None = None) -> Callable:
    """``f`` must be callable; given example ``args`` / ``kwargs``, it must accept a call ``f(*args, **kwargs)``."""
    if not callable(f):
        raise InputTypeError(f"{name}: expected a callable, got {_describe(f)} ({type(f).__name__})")
    if args is not None or kwargs is not None:
        args, kwargs = args or (), kwargs or {}
        try:
            signature = inspect.signature(f)
        except (TypeError, ValueError):      # builtins without a signature: accepted, they fail on their own
            return f
        try:
            signature.bind(*args, **kwargs)
        except TypeError as err:
            shown = ", ".join([*("x" for _ in args), *(f"{k}=..." for k in kwargs)])
            raise InputTypeError(f"{name}: expected a callable taking ({shown}), got {_describe(f)}{signature} "
                                 f"({err})") from None
    return f


def check_size(sizes: dict[str, int], what: str = "", limit: int = MAX_ELEMENTS) -> int:
    """The product of ``sizes`` (parameter -> count) may be at most ``limit`` (1 GiB of float64); names the largest."""
    sizes = {k: check_int(f"sizes[{k!r}]", v, 0) for k, v in check_mapping("sizes", sizes).items()}
    if (total := math.prod(sizes.values())) > limit:
        name = max(sizes, key=sizes.get)
        shown = " * ".join(f"{k} = {v}" for k, v in sizes.items())
        raise InputError(f"{name}: expected at most {limit:,} elements{' for ' + what if what else ''} "
                         f"(1 GiB of float64), got {shown} = {total:.3g}")
    return total


def as_ints(name: str, x, ndim: int | None = None) -> np.ndarray:
    """``x`` as an integer ndarray (ids, labels, checkpoints): booleans, floats, strings and ragged lists refused."""
    arr = _asarray(name, x)
    if arr.dtype.kind not in "iu":
        what = _KINDS.get(arr.dtype.kind, "not integers")
        raise InputTypeError(f"{name}: expected integers, got dtype {arr.dtype} ({what})")
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name}: expected a {ndim}-D integer array, got {arr.ndim}-D with shape {arr.shape}")
    return arr


def check_adapter(name: str, adapter) -> tuple[np.ndarray, np.ndarray, float]:
    """An adapter is (A (r, k), B (d, r), scale) with finite real entries: an ``Adapter``, or any tuple or list of
    those three; returns the three checked (use them, not ``adapter.A``: a plain tuple has no ``.A``)."""
    if not isinstance(adapter, (tuple, list)) or len(adapter) != 3:
        raise InputTypeError(f"{name}: expected an Adapter (A, B, scale), got {_describe(adapter)} "
                             f"({type(adapter).__name__})")
    A = as_array(f"{name}.A", adapter[0], ndim=2, allow_empty=False)
    B = as_array(f"{name}.B", adapter[1], ndim=2)
    check_shape(f"{name}.B", B, (None, A.shape[0]), f"= (d, r) with r = {name}.A.shape[0] = {A.shape[0]}")
    return A, B, check_scale(adapter[2], f"{name}.scale")


def check_gradient(name: str, g, shape: tuple, meaning: str = "") -> np.ndarray:
    """An upstream gradient: finite real array of exactly ``shape``."""
    g = as_array(name, g, ndim=len(shape))
    check_shape(name, g, shape, meaning)
    return g


def check_sequence(name: str, value, *, min_len: int = 0) -> list:
    """A list or tuple (not a string) with at least ``min_len`` items; returns it as a list."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        raise InputTypeError(f"{name}: expected a list or tuple, got {_describe(value)} ({type(value).__name__})")
    if len(value) < min_len:
        raise InputError(f"{name}: expected at least {min_len} item{'s' * (min_len != 1)}, got {len(value)}")
    return list(value)


def check_mapping(name: str, value, keys: Iterable[str] = ()) -> dict:
    """A dict holding at least ``keys``."""
    if not isinstance(value, dict):
        raise InputTypeError(f"{name}: expected a dict, got {_describe(value)} ({type(value).__name__})")
    missing = [k for k in keys if k not in value]
    if missing:
        raise InputError(f"{name}: expected entries {missing}, got keys {sorted(value)}")
    return value


def check_instance(name: str, value, cls: type | tuple[type, ...]) -> object:
    """``value`` must be an instance of ``cls``."""
    if not isinstance(value, cls):
        want = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise InputTypeError(f"{name}: expected a {want}, got {_describe(value)} ({type(value).__name__})")
    return value


def check_bool(name: str, value) -> bool:
    """``value`` must be True or False (numpy bools too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{name}: expected True or False, got {_describe(value)} ({type(value).__name__})")
    return bool(value)


def check_text(name: str, value, *, optional: bool = False) -> str | None:
    """``value`` must be a string (or None where ``optional``)."""
    if not isinstance(value, str) and not (optional and value is None):
        raise InputTypeError(f"{name}: expected a string{' or None' * optional}, got {_describe(value)} "
                             f"({type(value).__name__})")
    return value


def check_named(name: str, value, allowed: Iterable[str], *, pairs: tuple[str, str] | None = None) -> dict:
    """A dict whose keys are all names the model has (``allowed``): an unknown key, a layer that does not exist or
    a name without its prefix is refused by name, never ignored. ``pairs`` = (".A", ".B"): a key ending in one
    suffix needs the key with the other (an adapter's A without its B)."""
    value = check_mapping(name, value)
    allowed = list(allowed)
    unknown = [k for k in value if k not in allowed]
    if unknown:
        shown = ", ".join(repr(k) for k in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
        raise InputError(f"{name}: unknown key{'s' * (len(unknown) > 1)} {unknown[:5]}; expected names among "
                         f"{shown} ({len(allowed)} in all)")
    if pairs:
        for key in value:
            for have, want in (pairs, pairs[::-1]):
                if key.endswith(have) and key[: -len(have)] + want not in value:
                    raise InputError(f"{name}: {key!r} has no {key[: -len(have)] + want!r}: an adapter needs both "
                                     f"its {pairs[0].strip('.')} and its {pairs[1].strip('.')}")
    return value
