"""Every spec'd public function, fed every class of hostile input (``tests/hostile_cases.py``), one parameter at a
time: each call gives a clear error (ValueError / TypeError / KeyError naming the parameter), the valid call's
result for an equivalent input, or a result where the value is valid; never a numpy or Python internal error,
a silent acceptance, a changed argument, a hang or a huge allocation.
"""

from __future__ import annotations

import resource
import signal
import warnings

import contract_cases as cc
import hostile_cases as hc
import matplotlib
import numpy as np
import pytest

from lora_course import validation as V

matplotlib.use("Agg")

SPECS = cc.specs()
SECONDS = 30          # a hostile call that runs longer is a hang (the valid calls take milliseconds)


class _Hang(BaseException):
    pass


def _outcome(thunk):
    """('error', exception) or ('result', value) of one call, under a time limit."""
    def alarm(signum, frame):
        raise _Hang

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "result", thunk()
    except hc.StudentsOwnError:
        return "own error", None
    except Exception as err:  # noqa: BLE001 - classified by the caller
        return "error", err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        return err.args[0]
    return str(err)


@pytest.fixture(scope="module", autouse=True)
def _memory_cap():
    """A call that would allocate gigabytes fails fast here (MemoryError) instead of swapping the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + 3 * 2**30, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hostile_input_gets_a_clear_error_or_the_right_answer(name):
    spec = SPECS[name]
    bad = []
    for cls, param, label, thunk, want, reference, names in hc.hostile_calls(name, spec):
        if (name, param, label) in hc.LEFT_OPEN:
            continue
        kind, value = _outcome(thunk)
        where = f"[{cls}] {name}({param}={label})"
        if kind == "own error":
            continue
        if kind == "error":
            if isinstance(value, (_Hang, MemoryError)):
                bad.append(f"{where}: hang or huge allocation ({type(value).__name__})")
            elif not isinstance(value, (ValueError, TypeError, KeyError)) or not hc.names_any(_message(value), names):
                bad.append(f"{where}: obscure {type(value).__name__}: {_message(value)[:150]}")
            continue
        if want == cc.REJECT:
            bad.append(f"{where}: silently accepted, returned {value!r:.120}")
        elif (spec.deterministic or callable(want)) and not hc.expected_ok(value, want, reference):
            bad.append(f"{where}: wrong result {value!r:.120}")
    assert not bad, "\n".join(bad)


def test_every_hostile_class_is_exercised():
    """Each class of the table produces calls (a refactor that empties one would otherwise pass silently)."""
    seen = {cls for name, spec in SPECS.items() for cls, *_ in hc.hostile_calls(name, spec)}
    assert seen == set(hc.CLASSES)


# ---------------------------------------------------------------- the checks that close the classes, spelled out
@pytest.mark.parametrize(("call", "starts"), [
    (lambda: V.as_array("X", [[1.0], [1.0, 2.0]]), "X: expected a numeric array"),
    (lambda: V.as_real("W", np.ones(3, np.float16)), "W: expected a float32 or float64 array"),
    (lambda: V.check_shape("X", [[1.0], [2.0, 3.0]], (2, 1)), "X: expected a numeric array"),
    (lambda: V.check_int("seed", 2**70), "seed: expected an integer that fits in 64 bits"),
    (lambda: V.check_positive_int("d", 10**12), "d: expected at most"),
    (lambda: V.check_size({"d": 10**6, "k": 10**6}, "W0 (d, k)"), "d: expected at most"),
    (lambda: V.as_ints("task_ids", np.array([True, False])), "task_ids: expected integers"),
    (lambda: V.as_ints("y", [[0], [1, 2]]), "y: expected a numeric array"),
    (lambda: V.check_callable("progress", lambda: None, ("label",)), "progress: expected a callable taking (x)"),
    (lambda: V.check_adapter("adapter", (np.ones((0, 3)), np.ones((4, 0)), 0.5)), "adapter.A: expected a non-empty"),
])
def test_the_shared_checks_name_the_argument(call, starts):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(starts), str(err.value)


def test_a_callable_with_the_right_signature_passes_and_builtins_are_not_probed():
    assert V.check_callable("render", lambda r, zzz=1: "", kwargs={"r": 2}) is not None
    assert V.check_callable("measure", len, (len,)) is len
    assert V.check_callable("f", print, ()) is print


# ---------------------------------------------------------------- the helpers a student calls from a lesson
def _student_calls():
    from lora_course.feedback.answers import check, make_key
    from lora_course.feedback.project import checks as project
    from lora_course.feedback.tasks import lesson01, lesson02, lesson03, lesson04, lesson07
    from lora_course.support.course_root import find_course_root

    calls = []
    for module in (lesson01, lesson02, lesson03, lesson04, lesson07, project):
        short = module.__name__.rsplit(".", 1)[1]
        first = next(iter(module.CHECKS))
        for bad in (None, 3, ["x"], "no such check", b"x"):
            calls.append((f"{short}.run_check(name={bad!r})", "name", lambda m=module, b=bad: m.run_check(b, {})))
        for bad in (None, [], "globals", 3):
            calls.append((f"{short}.run_check(namespace={bad!r})", "namespace",
                          lambda m=module, f=first, b=bad: m.run_check(f, b)))
        for bad in (True, -1, 2.5, "0", None, 2**70):
            calls.append((f"{short}.run_check(seed={bad!r})", "seed",
                          lambda m=module, f=first, b=bad: m.run_check(f, {}, b)))
    calls += [(f"answers.check(key={bad!r})", "key", lambda b=bad: check(0.25, b)) for bad in (None, 3, "", "garbage")]
    key = make_key(0.25)
    calls += [(f"answers.check(mistakes={bad!r})", "mistakes", lambda b=bad: check(0.3, key, mistakes=b))
              for bad in ([1], "x", 3)]
    calls += [(f"answers.make_key(value={bad!r})", "value", lambda b=bad: make_key(b))
              for bad in (float("nan"), "x", None, [0.25], float("inf"))]
    calls += [(f"answers.make_key(sig={bad!r})", "sig", lambda b=bad: make_key(0.25, sig=b)) for bad in (True, 2.5, 0)]
    calls += [("answers.make_key(tuple of floats)", "value", lambda: make_key((1.5, 3), form="tuple"))]
    calls += [(f"find_course_root(start={bad!r})", "start", lambda b=bad: find_course_root(b))
              for bad in (3, b"/tmp", [])]
    return calls


@pytest.mark.parametrize("case", _student_calls(), ids=lambda c: c[0])
def test_student_helpers_refuse_bad_arguments_by_name(case, capsys):
    label, param, call = case
    kind, value = _outcome(call)
    assert kind == "error", f"{label}: accepted, returned {value!r:.120}"
    assert isinstance(value, (ValueError, TypeError, KeyError)) and hc.names_any(_message(value), [param]), \
        f"{label}: obscure {type(value).__name__}: {_message(value)[:150]}"


# ---------------------------------------------------------------- the grading command's options
@pytest.mark.parametrize(("options", "starts"), [
    (["--timeout", "nan"], "--timeout: expected CPU seconds > 0"),
    (["--timeout", "inf"], "--timeout: expected CPU seconds > 0"),
    (["--timeout", "-5"], "--timeout: expected CPU seconds > 0"),
    (["--notebook-timeout", "0"], "--notebook-timeout: expected CPU seconds > 0"),
    (["--memory-mb", "0"], "--memory-mb: expected an integer >= 1"),
    (["--seed", "-1"], "--seed: expected an integer >= 0"),
    (["--jobs", "0"], "--jobs: expected an integer >= 1"),
    (["--feedback", "{out}"], "--feedback: expected a folder"),
])
def test_grade_options_are_refused_by_their_command_line_name(tmp_path, capsys, options, starts):
    from lora_course.cli.main import main

    (tmp_path / "subs").mkdir()
    out = tmp_path / "grades.csv"
    out.write_text("")
    options = [o.format(out=out) for o in options]
    assert main(["grade", "--out", str(out), *options, str(tmp_path / "subs")]) == 2
    assert f"error: {starts}" in capsys.readouterr().err


def test_grade_refuses_a_folder_as_its_csv(tmp_path, capsys):
    from lora_course.cli.main import main

    (tmp_path / "subs").mkdir()
    assert main(["grade", "--out", str(tmp_path / "subs"), str(tmp_path / "subs")]) == 2
    assert "--out: expected a CSV file to write" in capsys.readouterr().err


def test_bench_quick_refuses_options_it_would_override(capsys):
    from lora_course.cli.main import main

    assert main(["bench", "--quick", "--batch-sizes", "0", "--no-progress"]) == 2
    assert "--quick: expected no --batch-sizes beside it" in capsys.readouterr().err


def test_reproduce_refuses_a_file_as_its_folder_before_training(tmp_path, capsys):
    from lora_course.cli.main import main

    out = tmp_path / "results"
    out.write_text("")
    assert main(["reproduce", "--setting", "tiny", "--out", str(out), "--no-progress"]) == 2
    assert "--out: expected a folder for the figures" in capsys.readouterr().err
