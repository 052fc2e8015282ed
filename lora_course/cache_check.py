"""The cache contract of the forward/backward pairs: a backward refuses, by name, a cache its forward did not build.

A forward returns ``(out, cache)``; the cache is a tuple whose items have fixed kinds. ``check_cache`` checks the
length and each item's kind before anything is unpacked, so a tuple of Nones, a shortened tuple or a cache of
another layer gives ``cache: expected ...`` instead of an AttributeError deep inside the backward pass.
"""

from __future__ import annotations

import numpy as np

from lora_course.validation import InputTypeError

# One letter per item: a = ndarray, t = tuple, d = dict, n = number, s = a shape (tuple of ints), ? = anything.
_KIND = {"a": (np.ndarray, "an array"), "t": (tuple, "a tuple"), "d": (dict, "a dict"),
         "n": ((int, float, np.number), "a number"), "s": (tuple, "a shape tuple"), "?": (object, "anything")}


def check_cache(cache, kinds: str, forward: str) -> tuple:
    """``cache`` as built by ``forward``: a tuple of ``len(kinds)`` items of those kinds; returns it."""
    if not isinstance(cache, tuple) or len(cache) != len(kinds):
        got = f"a tuple of {len(cache)} items" if isinstance(cache, tuple) else type(cache).__name__
        raise InputTypeError(f"cache: expected the cache tuple returned by {forward} ({len(kinds)} items), got {got}")
    for i, (item, kind) in enumerate(zip(cache, kinds, strict=True)):
        cls, what = _KIND[kind]
        number_like = kind == "n" and isinstance(item, np.ndarray) and item.ndim == 0     # a 0-d scale
        if not (isinstance(item, cls) or number_like) or isinstance(item, bool):
            raise InputTypeError(f"cache: expected the cache tuple returned by {forward}; its item {i} should be "
                                 f"{what}, got {type(item).__name__}")
    return cache
