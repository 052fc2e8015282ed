"""A recipes x ingredients matrix built from a few base sauces: low rank you can taste.

Every recipe is a mix of at most a few of Escoffier's five mother sauces plus the cook's own small
tweaks (noise). Rows are recipes, columns ingredients, entries grams per portion, so the matrix
M (n_recipes, n_ingredients) is close to mix (n_recipes, n_sauces) @ sauces (n_sauces, n_ingredients):
its singular values show how many sauces there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lora_course.lowrank import approximation_errors, params_per_matrix
from lora_course.validation import (
    InputError,
    as_array,
    check_instance,
    check_mapping,
    check_number,
    check_positive_int,
    check_rank,
    check_rng,
)

INGREDIENTS: tuple[str, ...] = (
    "butter", "flour", "milk", "nutmeg", "white stock", "brown stock", "onion", "carrot",
    "celery", "tomato paste", "tomatoes", "garlic", "olive oil", "egg yolk", "lemon juice", "cream",
    "salt", "pepper", "thyme", "bay leaf", "white wine", "vinegar", "sugar", "basil",
)

# Grams of each ingredient in one portion of each base sauce (rough kitchen quantities).
SAUCES: dict[str, dict[str, float]] = {
    "béchamel": {"butter": 6, "flour": 6, "milk": 85, "nutmeg": 0.2, "onion": 2, "salt": 0.6, "pepper": 0.2},
    "velouté": {"butter": 6, "flour": 6, "white stock": 80, "cream": 6, "lemon juice": 1, "salt": 0.6},
    "espagnole": {"butter": 4, "flour": 4, "brown stock": 70, "onion": 6, "carrot": 5, "celery": 3,
                  "tomato paste": 5, "thyme": 0.3, "bay leaf": 0.2, "white wine": 5},
    "hollandaise": {"egg yolk": 25, "butter": 55, "lemon juice": 8, "vinegar": 5, "salt": 0.5, "pepper": 0.3},
    "tomato": {"tomatoes": 70, "olive oil": 6, "onion": 8, "garlic": 3, "carrot": 4, "basil": 1,
               "sugar": 1, "salt": 0.8, "bay leaf": 0.2},
}


def sauce_matrix(sauces: dict[str, dict[str, float]] | None = None) -> np.ndarray:
    """The base sauces as rows over INGREDIENTS: shape (n_sauces, n_ingredients)."""
    sauces = SAUCES if sauces is None else check_mapping("sauces", sauces)
    if not sauces:
        raise InputError("sauces: expected at least one base sauce, got an empty dict")
    for name, recipe in sauces.items():
        check_mapping(f"sauces[{name!r}]", recipe)
        for ingredient, grams in recipe.items():
            check_number(f"sauces[{name!r}][{ingredient!r}]", grams, minimum=0, strict=False, what="grams")
    out = np.zeros((len(sauces), len(INGREDIENTS)))
    for i, (name, recipe) in enumerate(sauces.items()):
        for ingredient, grams in recipe.items():
            if ingredient not in INGREDIENTS:
                raise InputError(f"sauces[{name!r}]: expected one of INGREDIENTS, got {ingredient!r}")
            out[i, INGREDIENTS.index(ingredient)] = grams
    return out


@dataclass(frozen=True)
class Cookbook:
    """M = mix @ sauces + tweaks. M: (n_recipes, n_ingredients), mix: (n_recipes, n_sauces)."""

    M: np.ndarray
    mix: np.ndarray
    sauces: np.ndarray
    noise: float


def make_cookbook(rng: np.random.Generator, n_recipes: int = 1000, noise: float = 0.5,
                  max_sauces_per_recipe: int = 3, sauces: np.ndarray | None = None) -> Cookbook:
    """Each recipe takes 1..max_sauces_per_recipe base sauces in portions of 0.2..1.5, then the cook
    adds or leaves out a little of every ingredient (Gaussian, std ``noise`` grams; amounts stay >= 0).

    ``sauces`` (n_sauces, n_ingredients) defaults to ``sauce_matrix()``.
    """
    check_rng(rng)
    n_recipes = check_positive_int("n_recipes", n_recipes)
    check_number("noise", noise, what="a finite std >= 0 in grams")
    if noise < 0:
        raise InputError(f"noise: expected a finite std >= 0 in grams, got {noise}")
    sauces = sauce_matrix() if sauces is None else as_array("sauces", sauces, ndim=2, allow_empty=False).astype(float)
    n_sauces = sauces.shape[0]
    max_sauces_per_recipe = check_positive_int("max_sauces_per_recipe", max_sauces_per_recipe, n_sauces)
    mix = np.zeros((n_recipes, n_sauces))
    for row in mix:
        used = rng.choice(n_sauces, size=rng.integers(1, max_sauces_per_recipe + 1), replace=False)
        row[used] = rng.uniform(0.2, 1.5, size=used.size)
    tweaks = rng.normal(0.0, noise, size=(n_recipes, sauces.shape[1]))
    M = np.maximum(mix @ sauces + tweaks, 0.0)     # a cook can leave an ingredient out, not use less than none
    return Cookbook(M, mix, sauces, float(noise))


def gap_rank(M: np.ndarray, min_gap: float = 10.0) -> int:
    """Rank read off the spectrum: the r where s_r / s_(r+1) is largest, if that drop is at least
    ``min_gap``; min(d, k) when no such drop exists (full rank); 0 for a zero matrix.

    Exact rank r gives r (s_(r+1) is rounding error); a noisy rank-r matrix gives r as long as the noise
    is much smaller than its weakest real direction.
    """
    M = as_array("M", M, ndim=2)
    check_number("min_gap", min_gap, minimum=1, what="a finite ratio")
    s = np.linalg.svd(M, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    # Below numpy's rank tolerance a singular value is rounding error, not a direction: set it to exactly 0, so
    # the drop to it is infinite and the first such drop wins (ratios among rounding errors mean nothing and
    # differ between BLAS builds).
    s = np.where(s > s[0] * max(M.shape) * np.finfo(s.dtype).eps, s, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = s[:-1] / s[1:]
    ratios = np.nan_to_num(ratios, nan=0.0, posinf=np.inf)   # 0/0 after the spectrum ran out: no drop
    if ratios.size == 0 or ratios.max() < min_gap:
        return int(s.size)
    return int(np.argmax(ratios)) + 1


class RankView(NamedTuple):
    """What keeping r directions of M (d, k) costs and loses."""

    r: int
    rel_error: float        # ||M - M_r||_F / ||M||_F for the best rank-r M_r
    params: int             # r (d + k) entries in B (d, r) and A (r, k)
    dense_params: int       # d k
    errors: np.ndarray      # rel_error for every rank 0 .. min(d, k): shape (min(d, k) + 1,)

    @property
    def share(self) -> float:
        """params / dense_params."""
        return self.params / self.dense_params


def rank_view(M: np.ndarray, r: int) -> RankView:
    """The rank-r widget's answer for M (d, k): error curve, error at r and parameter counts."""
    M = as_array("M", M, ndim=2)
    d, k = M.shape
    r = check_rank(r, d, k)
    errors = approximation_errors(M)
    return RankView(r, float(errors[r]), params_per_matrix(d, k, r), d * k, errors)


class Spectrum(NamedTuple):
    """The SVD of M (d, k), computed once: M = U diag(s) Vt with U (d, m), s (m,), Vt (m, k), m = min(d, k);
    errors (m + 1,) = relative error of the best rank-r approximation for r = 0 .. m."""

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray
    errors: np.ndarray


def spectrum(M: np.ndarray) -> Spectrum:
    """One SVD of M (d, k) for the widget: every rank r is then a truncation, no new decomposition."""
    M = as_array("M", M, ndim=2)
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    tail = np.concatenate([np.cumsum((s ** 2)[::-1])[::-1], [0.0]])      # (m + 1,): sum of s_i^2 for i >= r
    total = tail[0]
    errors = np.sqrt(tail / total) if total > 0 else np.zeros_like(tail)
    return Spectrum(U, s, Vt, errors)


def truncated_rows(spec: Spectrum, r: int, rows: int) -> np.ndarray:
    """The first ``rows`` rows of the best rank-r approximation M_r: (U[:rows, :r] * s[:r]) @ Vt[:r], (rows, k)."""
    check_instance("spec", spec, Spectrum)
    r = check_rank(r, spec.U.shape[0], spec.Vt.shape[1])
    rows = check_positive_int("rows", rows, spec.U.shape[0])
    return (spec.U[:rows, :r] * spec.s[:r]) @ spec.Vt[:r]


def rank_view_from(spec: Spectrum, r: int) -> RankView:
    """``rank_view`` from a precomputed ``spectrum`` (microseconds instead of an SVD per call)."""
    check_instance("spec", spec, Spectrum)
    d, k = spec.U.shape[0], spec.Vt.shape[1]
    r = check_rank(r, d, k)
    return RankView(r, float(spec.errors[r]), params_per_matrix(d, k, r), d * k, spec.errors)
