"""Write one Gradescope autograder zip per lesson (``lora-course gradescope-export OUT``).

``OUT/lessonNN/autograder.zip`` holds, at its root (Gradescope's layout):

- ``setup.sh`` and ``run_autograder`` (scripts.py);
- ``wheels/lora_course-<version>-py3-none-any.whl``: the course at the exported version, built with
  ``pip wheel --no-deps`` from a copy of the package (nothing is written into the course folder);
- ``requirements.txt``: every distribution grading needs (the course's requirements but JupyterLab, and ipykernel),
  each at the exact version installed where it was exported;
- ``solution/NN_name.ipynb``: the rubric (points, keys, checks), which the student's kernel can never read;
- ``lora_gradescope.json``: the lesson, the grader's limits, the isolation asked for, the visibility of results.

The lessons are whatever ``solutions/`` holds that has graded items (appendix 06 has none).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import nbformat

from lora_course import __version__
from lora_course.authoring.safe_write import check_parents
from lora_course.gradescope.autograder import CONFIG
from lora_course.gradescope.isolation import REQUESTS
from lora_course.gradescope.results import VISIBILITIES
from lora_course.gradescope.scripts import run_script, setup_script
from lora_course.grading.items import items_from_solution

DIST = "lora-course"
STAMP = (2024, 1, 1, 0, 0, 0)          # every zip entry's date: the same export gives the same bytes


@dataclass(frozen=True)
class Settings:
    """What the autograder is told: per-cell and per-notebook CPU seconds, memory, a wall-clock limit for the
    whole grading, the isolation asked for, the results' visibility on Gradescope, the checks' seed."""

    cell_seconds: float = 60.0
    notebook_seconds: float = 600.0
    memory_mb: int = 2048
    wall_seconds: float = 540.0
    isolation: str = "auto"
    visibility: str = "visible"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("cell_seconds", "notebook_seconds", "memory_mb", "wall_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: expected a number > 0, got {value!r}")
        if self.isolation not in REQUESTS:
            raise ValueError(f"isolation: expected one of {REQUESTS}, got {self.isolation!r}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility: expected one of {VISIBILITIES}, got {self.visibility!r}")


def graded_lessons(solutions: Path, only: list[str] | None = None) -> list[Path]:
    """The solution notebooks with graded items, by name; ``only`` keeps those whose number is listed."""
    found = sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"solutions: expected NN_name.ipynb notebooks in {solutions}, found none")
    if only:
        bad = [n for n in only if not (len(n) == 2 and n.isdigit())]
        if bad:
            raise ValueError(f"--only: expected two-digit lesson numbers such as 05, got {bad}")
        missing = sorted(set(only) - {p.name[:2] for p in found})
        if missing:
            raise ValueError(f"--only: no solution notebook for {missing}; have {[p.name for p in found]}")
        found = [p for p in found if p.name[:2] in only]
    return [p for p in found if items_from_solution(nbformat.read(p, as_version=4), p.name)]


GRADING_ONLY = {"skip": ("jupyterlab",), "add": ("ipykernel",)}   # the students' editor out, the kernel in


def pinned_requirements(dist: str = DIST, skip: tuple[str, ...] = GRADING_ONLY["skip"],
                        add: tuple[str, ...] = GRADING_ONLY["add"]) -> list[str]:
    """``name==version`` of what grading with ``dist`` needs here: its requirements except ``skip`` (JupyterLab,
    which grading never starts), plus ``add`` (ipykernel, the kernel the grader starts), transitively (markers
    evaluated for this interpreter, extras followed), at the versions installed here; sorted."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def installed(name: str) -> metadata.Distribution:
        try:
            return metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise FileNotFoundError(f"{name} is required to grade with {dist} but is not installed here") from None

    def needs(found: metadata.Distribution, extras: frozenset) -> list[tuple[str, frozenset]]:
        out = []
        for line in found.requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            out.append((req.name, frozenset(req.extras)))
        return out

    skipped = {canonicalize_name(n) for n in skip}
    todo = [r for r in needs(installed(dist), frozenset()) if canonicalize_name(r[0]) not in skipped]
    todo += [(name, frozenset()) for name in add]
    pins: dict[str, str] = {}
    done: set[tuple[str, frozenset]] = set()
    while todo:
        name, extras = todo.pop()
        if (canonicalize_name(name), extras) in done:
            continue
        done.add((canonicalize_name(name), extras))
        found = installed(name)
        pins[canonicalize_name(found.metadata["Name"])] = found.version
        todo += needs(found, extras)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def build_wheel(course: Path, dest: Path) -> Path:
    """The course's wheel, built by ``pip wheel --no-deps`` from a copy of its package and project files."""
    with tempfile.TemporaryDirectory(prefix="lora-wheel-") as tmp:
        copy = Path(tmp) / "course"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (course / name).is_file():
                shutil.copy2(course / name, copy / name)
        shutil.copytree(course / "lora_course", copy / "lora_course",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                              "-w", str(dest), str(copy)], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"pip wheel failed for {course}:\n{run.stdout}{run.stderr}")
    wheels = sorted(dest.glob("lora_course-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"pip wheel: expected one lora_course wheel in {dest}, got {[w.name for w in wheels]}")
    return wheels[0]


def _entry(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def write_zip(path: Path, solution: Path, wheel: Path, requirements: list[str], settings: Settings) -> Path:
    """One lesson's autograder.zip (see the module's docstring for what it holds)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    name = solution.name
    config = {"notebook": name, "version": __version__, "python": python, "wheel": wheel.name,
              "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
              "limits": {"cell_seconds": settings.cell_seconds, "notebook_seconds": settings.notebook_seconds,
                         "memory_mb": settings.memory_mb},
              **{k: v for k, v in asdict(settings).items() if k not in ("cell_seconds", "notebook_seconds",
                                                                         "memory_mb")}}
    tmp = path.with_name(f".{path.name}.part")
    with zipfile.ZipFile(tmp, "w") as zf:
        _entry(zf, "setup.sh", setup_script(__version__, name, python).encode(), executable=True)
        _entry(zf, "run_autograder", run_script(__version__, name).encode(), executable=True)
        _entry(zf, CONFIG, (json.dumps(config, indent=1) + "\n").encode())
        _entry(zf, "requirements.txt", ("\n".join(requirements) + "\n").encode())
        _entry(zf, f"wheels/{wheel.name}", wheel.read_bytes())
        _entry(zf, f"solution/{name}", solution.read_bytes())
    tmp.replace(path)
    return path


def ours(path: Path) -> bool:
    """Whether ``path`` is a regular file and an autograder zip this command wrote (it holds our settings file)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return CONFIG in zf.namelist()
    except zipfile.BadZipFile:
        return False


def export(course: Path, out: Path, only: list[str] | None = None, settings: Settings | None = None) -> list[Path]:
    """Write ``out/lessonNN/autograder.zip`` for each graded lesson of ``course/solutions``; the zips' paths.

    An existing zip of this command is replaced; any other file in its place is refused (ValueError), and
    nothing else in ``out`` is touched.
    """
    settings = settings or Settings()
    lessons = graded_lessons(Path(course) / "solutions", only)
    if not lessons:
        raise ValueError(f"no graded lesson to export in {course / 'solutions'} (--only {only})")
    targets = {solution: Path(out) / f"lesson{solution.name[:2]}" / "autograder.zip" for solution in lessons}
    for target in targets.values():                 # every refusal before any work
        check_parents(target)
        if target.exists() and not ours(target):
            raise ValueError(f"{target}: expected a zip written by this command (it is replaced), found another "
                             "file; move it away or choose another OUT")
    requirements = pinned_requirements()
    written = []
    with tempfile.TemporaryDirectory(prefix="lora-gradescope-export-") as tmp:
        wheel = build_wheel(Path(course), Path(tmp))
        for solution, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            written.append(write_zip(target, solution, wheel, requirements, settings))
    return written
