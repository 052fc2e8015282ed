"""Audit of the bad-input contract: call every public function of the library modules with bad inputs and
classify each outcome.

    python benchmarks/contract_audit.py             # the installed / checked-out package
    PYTHONPATH=/path/to/old/tree python benchmarks/contract_audit.py   # an older version, for a before count

Outcomes: clear error (ValueError / TypeError / KeyError whose message starts with the parameter's name),
correct result (an equivalent input, e.g. a list for an array, gives the same answer), obscure error (any
other exception: numpy or Python internals, or a message that names no parameter), silent accept (a bad
input gives a result), wrong result (an equivalent input gives a different answer). The cases and bad values
are in tests/contract_cases.py; the issue's concrete cases (known answers) are counted too, and so are the cases
of each contract class (``contract_cases.class_cases()``), reported by class with the class's rule.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import contract_cases as cc  # noqa: E402

OUTCOMES = ("clear error", "correct result", "obscure error", "silent accept", "wrong result")
RULES = {
    "named arrays": "a dict of named arrays is checked against the names the model has (validation.check_named): "
                    "an unknown name, a missing layer prefix or an A without its B is refused by name",
    "no broadcasting": "every bias and weight has its exact shape (check_shape); a (1,) bias never stands in for "
                       "(d,) through broadcasting",
    "plain tuples and lists": "an (A, B, scale) tuple or list is an adapter (check_adapter returns the checked "
                              "three, no .A is read), nested lists are arrays",
    "transposed weights": "a shape that is the transpose of the expected one is reported as such (check_shape)",
    "unit boundaries": "one helper (lora_course.support.units) rounds first, then picks the unit: 999.6 B is 1 kB, "
                       "999,999 is 1M",
    "feedback inputs": "a check diagnoses before judging (feedback.calls): None returned, lists, ragged arrays, "
                       "tuples of the wrong length, non-functions, and a namespace that is not a dict",
}


def _message(err: BaseException) -> str:
    text = str(err)
    if isinstance(err, KeyError) and len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    return text


def classify(thunk, param, want, reference=None, deterministic: bool = True) -> tuple[str, str]:
    """(outcome, detail) of one call; ``param`` is the name a clear message starts with (or a tuple of them)."""
    params = (param,) if isinstance(param, str) else tuple(param)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = thunk()
    except (ValueError, TypeError, KeyError) as err:
        if any(cc.message_names(_message(err), p) for p in params):
            return "clear error", _message(err)[:100]
        return "obscure error", f"{type(err).__name__}: {_message(err)[:100]}"
    except Exception as err:  # noqa: BLE001 - the audit records whatever escapes
        return "obscure error", f"{type(err).__name__}: {_message(err)[:100]}"
    if want == cc.REJECT:
        return "silent accept", "returned a result"
    if want == cc.EITHER or not deterministic:
        return "correct result", ""
    if callable(want):
        return ("correct result", "") if want(result) else ("wrong result", repr(result)[:100])
    return ("correct result", "") if cc.same(result, reference) else ("wrong result", repr(result)[:100])


def audit() -> tuple[collections.Counter, list[tuple[str, str, str, str, str]], set]:
    counts: collections.Counter = collections.Counter()
    rows = []
    functions = set()
    for name, spec in cc.specs().items():
        functions.add(name)
        reference = None
        for param in spec.kinds:
            shown = spec.names.get(param, param)
            for label, bad, want in cc.mutations(name, spec, param):
                if want == cc.SAME and reference is None and spec.deterministic:
                    reference = spec.call(**spec.valid())

                def thunk(bad=bad, param=param, spec=spec):
                    kwargs = spec.valid()
                    kwargs[param] = bad
                    return spec.call(**kwargs)

                names = [spec.names.get(p, p) for p in spec.kinds] if label in cc.MISMATCH else [shown]
                outcome, detail = classify(thunk, names, want, reference, spec.deterministic)
                counts[outcome] += 1
                rows.append((name, param, label, outcome, detail))
    for name, label, thunk, param, want in cc.known_cases():
        functions.add(name)
        outcome, detail = classify(thunk, param, want)
        counts[outcome] += 1
        rows.append((name, param, label, outcome, detail))
    for cls, name, label, thunk, param, want in (cc.class_cases() if hasattr(cc, "class_cases") else []):
        functions.add(name)
        outcome, detail = classify(thunk, param, want)
        counts[outcome] += 1
        rows.append((name, param, label, outcome, detail))
        CLASS_COUNTS[cls][outcome] += 1
    return counts, rows, functions


CLASS_COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=OUTCOMES + ("bad",), help="list the calls with this outcome "
                        "('bad': obscure errors, silent accepts and wrong results)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import lora_course

    counts, rows, functions = audit()
    total = sum(counts.values())
    print(f"lora_course from {os.path.dirname(lora_course.__file__)}")
    print(f"{total} calls over {len(functions)} public functions")
    for outcome in OUTCOMES:
        print(f"  {outcome:<15} {counts[outcome]:>5}")
    by_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, _, _, outcome, _ in rows:
        by_module[name.split(".")[0]][outcome] += 1
    print(f"\n{'module':<20}" + "".join(f"{o.split()[0]:>9}" for o in OUTCOMES))
    for module, c in by_module.items():
        print(f"{module:<20}" + "".join(f"{c[o]:>9}" for o in OUTCOMES))
    if CLASS_COUNTS:
        print(f"\n{'contract class':<24}" + "".join(f"{o.split()[0]:>9}" for o in OUTCOMES))
        for cls, c in CLASS_COUNTS.items():
            print(f"{cls:<24}" + "".join(f"{c[o]:>9}" for o in OUTCOMES))
        print("\nrules:")
        for cls in CLASS_COUNTS:
            print(f"  {cls}: {RULES.get(cls, '')}")
    if args.show:
        wanted = ("obscure error", "silent accept", "wrong result") if args.show == "bad" else (args.show,)
        for name, param, label, outcome, detail in rows:
            if outcome in wanted:
                print(f"{outcome:<15} {name}({param}={label}) {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
