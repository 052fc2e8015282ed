"""Plot conventions: a colour-blind-safe palette (Okabe & Ito) and one way to start a figure."""

from __future__ import annotations

import numpy as np

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL_CMAP = "viridis"


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 4.0, sharey: bool | str = False):
    """``plt.subplots`` with the course palette as the colour cycle; returns (fig, axes).

    ``sharey`` (True, "row", ...) is passed on: panels meant to be compared share one y-axis.
    """
    from lora_course.validation import InputError, check_number, check_positive_int

    ncols, nrows = check_positive_int("ncols", ncols), check_positive_int("nrows", nrows)
    check_number("width", width, minimum=0)
    check_number("height", height, minimum=0)
    if isinstance(sharey, (bool, np.bool_)):
        sharey = bool(sharey)
    else:
        if not isinstance(sharey, str) or sharey not in ("row", "col", "all", "none"):
            raise InputError(f"sharey: expected True, False or one of 'row', 'col', 'all', 'none', got {sharey!r:.60}")
    import matplotlib.pyplot as plt
    from cycler import cycler

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), constrained_layout=True,
                             sharey=sharey)
    for ax in getattr(axes, "flat", [axes]):
        ax.set_prop_cycle(cycler(color=PALETTE))
        ax.grid(True, alpha=0.3)
    return fig, axes
