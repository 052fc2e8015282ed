"""Viridis colours for heatmaps, and a tiny PNG writer (one pixel per matrix entry) for inline images."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from lora_course.validation import InputError, as_real

_VIRIDIS_ANCHORS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
                    "#b5de2b", "#fde725"]   # viridis at 0, 1/9, ..., 1


_VIRIDIS_RGB = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in _VIRIDIS_ANCHORS], dtype=float)


def colormap_rgb(fractions) -> np.ndarray:
    """Viridis colours as uint8 RGB, shape fractions.shape + (3,), for values in [0, 1] (clipped, NaN -> 0)."""
    fractions = as_real("fractions", fractions)
    shape = fractions.shape
    f = np.clip(np.nan_to_num(fractions.astype(float).ravel(), nan=0.0), 0.0, 1.0)
    pos = f * (len(_VIRIDIS_RGB) - 1)
    low = np.minimum(pos.astype(int), len(_VIRIDIS_RGB) - 2)
    t = (pos - low)[:, None]
    mixed = np.rint(_VIRIDIS_RGB[low] * (1 - t) + _VIRIDIS_RGB[low + 1] * t).astype(np.uint8)
    return mixed.reshape(*shape, 3)


def png_bytes(rgb: np.ndarray) -> bytes:
    """A (rows, cols, 3) uint8 image as PNG bytes (8-bit RGB, no filter): one pixel per matrix entry.

    Other integer arrays (a nested list) are accepted when every entry is in 0 .. 255."""
    rgb = as_real("rgb", rgb, ndim=3)
    if rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InputError(f"rgb: expected shape (rows, cols, 3) with rows, cols >= 1, got {rgb.shape}")
    if rgb.dtype != np.uint8:
        if rgb.dtype.kind not in "iu" or rgb.min() < 0 or rgb.max() > 255:
            raise InputError(f"rgb: expected uint8 values (integers 0 .. 255), got dtype {rgb.dtype} "
                             f"with values in [{rgb.min()}, {rgb.max()}]")
        rgb = rgb.astype(np.uint8)
    rows, cols = rgb.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(rows))       # filter type 0 on every row
    header = struct.pack(">IIBBBBB", cols, rows, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def colormap(fractions) -> list[str]:
    """Viridis colours (hex) for values in [0, 1] (clipped, NaN -> 0), by linear interpolation between 10 anchors."""
    f = np.clip(np.nan_to_num(as_real("fractions", fractions).astype(float).ravel(), nan=0.0), 0.0, 1.0)
    rgb = _VIRIDIS_RGB
    pos = f * (len(rgb) - 1)
    low = np.minimum(pos.astype(int), len(rgb) - 2)
    t = (pos - low)[:, None]
    mixed = np.rint(rgb[low] * (1 - t) + rgb[low + 1] * t).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in mixed]
