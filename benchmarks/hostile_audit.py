"""Hostile-input audit: every spec'd public function of ``lora_course`` fed, one parameter at a time, each class
of hostile input, and every outcome classified.

    python benchmarks/hostile_audit.py              # counts per outcome and per class
    python benchmarks/hostile_audit.py --show bad   # every obscure error, silent accept, wrong result, hang

It goes beyond ``benchmarks/contract_audit.py`` (which replays the fixed bad values of ``tests/contract_cases.py``):
the classes here are those an outside tester reaches for (``contract_cases.HOSTILE``): bools where numbers are
meant, 0-d arrays and numpy scalars, integral and huge numbers, float16 / object / big-endian arrays, Fortran-
ordered, strided and read-only arrays, empty and 0-d arrays, transposed weights, sequences and dicts holding the
wrong items, callables that raise or return None, objects of another class, caches from elsewhere. Two whole-
function checks run too: the call must not change its array arguments (unless it documents an in-place update),
and read-only arguments must give the same result. Outcomes:

    clear error     ValueError / TypeError / KeyError whose message starts with the parameter's name (or the
                    exception a student's own callable raised, passed through unchanged)
    correct result  an accepted input that is valid (or equivalent, and then gives the same answer)
    obscure error   any other exception (numpy or Python internals; a message naming no parameter)
    silent accept   a bad input that gave a result
    wrong result    an equivalent input that gave a different answer, or an argument the call changed
    hang / huge     more than ``--seconds`` seconds, or a MemoryError under the address-space cap
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import signal
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import contract_cases as cc  # noqa: E402
import hostile_cases as hc  # noqa: E402

OUTCOMES = ("clear error", "correct result", "obscure error", "silent accept", "wrong result", "hang / huge")


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        return err.args[0]
    return str(err)


def classify(thunk, names, want, reference, deterministic: bool, seconds: float) -> tuple[str, str]:
    """(outcome, detail) of one hostile call."""
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = thunk()
    except _Timeout:
        return "hang / huge", f"more than {seconds:g} s"
    except MemoryError as err:
        return "hang / huge", f"MemoryError: {str(err)[:80]}"
    except hc.StudentsOwnError:
        return "clear error", "the callable's own error, passed through"
    except (ValueError, TypeError, KeyError) as err:
        if hc.names_any(_message(err), names):
            return "clear error", _message(err)[:100]
        return "obscure error", f"{type(err).__name__}: {_message(err)[:120]}"
    except Exception as err:  # noqa: BLE001 - the audit records whatever escapes
        return "obscure error", f"{type(err).__name__}: {_message(err)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if want == cc.REJECT:
        return "silent accept", f"returned {result!r:.100}"
    if not deterministic and not callable(want):
        return "correct result", ""
    if hc.expected_ok(result, want, reference):
        return "correct result", ""
    return "wrong result", f"{result!r:.100}"


def audit(seconds: float, only: str | None = None):
    counts: collections.Counter = collections.Counter()
    by_class: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    rows = []
    specs = cc.specs()
    for name, spec in specs.items():
        if only and not name.startswith(only):
            continue
        for cls, param, label, thunk, want, reference, names in hc.hostile_calls(name, spec):
            outcome, detail = classify(thunk, names, want, reference, spec.deterministic, seconds)
            counts[outcome] += 1
            by_class[cls][outcome] += 1
            rows.append((name, param, cls, label, outcome, detail))
    return counts, by_class, rows


def _cap_memory(gib: float) -> None:
    """Cap the address space so a call that would allocate GBs fails fast (counted as 'hang / huge')."""
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    limit = vm + int(gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=OUTCOMES + ("bad",), help="list the calls with this outcome")
    parser.add_argument("--seconds", type=float, default=10.0, help="a call longer than this is a hang")
    parser.add_argument("--memory-gib", type=float, default=2.0, help="address space a call may add")
    parser.add_argument("--only", help="audit the functions whose name starts with this")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    signal.signal(signal.SIGALRM, _alarm)
    cc.specs()                      # build the cached fixtures before the cap
    cc.tiny_experiment()
    _cap_memory(args.memory_gib)
    counts, by_class, rows = audit(args.seconds, args.only)
    import lora_course

    print(f"lora_course from {os.path.dirname(lora_course.__file__)}")
    print(f"{sum(counts.values())} hostile calls over {len({r[0] for r in rows})} public functions "
          f"(load average {open('/proc/loadavg').read().split()[0]})")
    for outcome in OUTCOMES:
        print(f"  {outcome:<15} {counts[outcome]:>5}")
    short = [o.split()[0] for o in OUTCOMES]
    print(f"\n{'class':<26}" + "".join(f"{s:>9}" for s in short))
    for cls in sorted(by_class):
        print(f"{cls:<26}" + "".join(f"{by_class[cls][o]:>9}" for o in OUTCOMES))
    if args.show:
        wanted = OUTCOMES[2:] if args.show == "bad" else (args.show,)
        for name, param, cls, label, outcome, detail in rows:
            if outcome in wanted:
                print(f"{outcome:<14} [{cls}] {name}({param}={label}) {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
