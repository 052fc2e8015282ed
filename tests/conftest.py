"""Suite-wide settings: hypothesis without wall-clock deadlines (CI shares 2 cores with notebooks and a
browser, so a timing deadline would fail for reasons unrelated to correctness) and with a fixed seed
derivation, so a failure seen in CI replays locally."""

from hypothesis import settings

settings.register_profile("course", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("course")


# Files that take longest (measured with --durations on two workers): they start first, so that none of
# them is left running alone while the other worker idles. `make test` runs xdist with --dist loadfile
# --no-loadscope-reorder, which hands out files in this order (xdist's default reorders them by test count,
# which put the nbgrader file, with few but slow tests, last).
SLOW_FIRST = (
    "tests/test_nbgrader.py",
    "tests/test_gradescope.py",
    "tests/test_gradescope_forge.py",
    "tests/test_grading_lessons.py",
    "tests/test_grading_forge.py",
    "tests/test_grading_hostile.py",
    "tests/test_grading_tasks.py",
    "solutions/03_targets_and_rank.ipynb",
    "notebooks/03_targets_and_rank.ipynb",
    "tests/test_cli.py",
    "tests/test_setup.py",
)
# After every other file but the browser's: by then nbval has run each solution notebook and stored its answers,
# which this file reads instead of running the notebooks again (tests/solution_answers.py).
LATE = ("tests/test_answer_keys.py",)
BROWSER = "tests/browser/"
BROWSER_SLOW_FIRST = ("tests/browser/test_jupyterlab.py", "tests/browser/test_open_unmodified.py")


def run_order(nodeid: str) -> tuple[int, int]:
    """(group, rank): the slow files first, slowest first; then the rest as collected; then LATE; the browser last."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(BROWSER):
        return 3, BROWSER_SLOW_FIRST.index(path) if path in BROWSER_SLOW_FIRST else len(BROWSER_SLOW_FIRST)
    if path in LATE:
        return 2, LATE.index(path)
    return (0, SLOW_FIRST.index(path)) if path in SLOW_FIRST else (1, 0)


def pytest_collection_modifyitems(session, config, items):
    """Start the slowest files first, and run the browser tests last. Playwright's sync API keeps an event
    loop running in the main thread for as long as its session-scoped browser lives; nbclient and the
    grader called while that loop runs must fall back to worker-thread loops (one such run hung once).
    With the browser last, nothing else runs beside it (the sort is stable: a file's tests keep their order)."""
    items.sort(key=lambda item: run_order(item.nodeid))
