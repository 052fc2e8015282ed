"""The two scripts Gradescope runs from the autograder zip: ``setup.sh`` (once, as root, when it builds the image)
and ``run_autograder`` (once per submission). Both are filled in by export.py.
"""

from __future__ import annotations

VENV = "/autograder/venv"

SETUP = """#!/usr/bin/env bash
# Written by `lora-course gradescope-export` (lora-course {version}, {notebook}).
# Gradescope runs this once, as root, when it builds the autograder's image: it installs Python {python},
# bubblewrap (used when the container allows it), and the course in a virtual environment at {venv}:
# the exact versions of requirements.txt (what grading needs; JupyterLab, the students' editor, is left out),
# then the course's own wheel from this zip, without dependencies and never from an index.
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
PY=python{python}
VENV={venv}
APT_UPDATED=0

apt_install() {{
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "setup.sh: cannot install $* (no apt-get, or not root)" >&2
    return 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -y -q && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}}

has_python() {{ command -v "$PY" >/dev/null 2>&1 && "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; }}

if ! has_python; then
  apt_install "$PY" "$PY-venv" || {{
    # not in this release's archive: the deadsnakes builds of CPython for Ubuntu
    apt_install software-properties-common gpg-agent
    add-apt-repository -y ppa:deadsnakes/ppa && APT_UPDATED=0
    apt_install "$PY" "$PY-venv"
  }}
fi
has_python || {{ echo "setup.sh: Python {python} is required (the course was exported with it)" >&2; exit 1; }}
for tool in bwrap:bubblewrap setpriv:util-linux prlimit:util-linux unshare:util-linux; do
  command -v "${{tool%%:*}}" >/dev/null 2>&1 || apt_install "${{tool#*:}}" || \\
    echo "setup.sh: ${{tool%%:*}} is missing: the grader will use a weaker isolation (results.json says which)"
done

rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$HERE/requirements.txt"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input --no-deps --no-index "$HERE"/wheels/*.whl
"$VENV/bin/python" -I -m lora_course.gradescope.selfcheck "$HERE"
"""

RUN = """#!/usr/bin/env bash
# Written by `lora-course gradescope-export` (lora-course {version}, {notebook}).
# Gradescope runs this once per submission: it grades /autograder/submission/*.ipynb with lora-course's grader
# and writes /autograder/results/results.json (always, even when the submission cannot be graded).
cd /autograder
exec {venv}/bin/python -I -m lora_course.gradescope.autograder --root /autograder
"""


def setup_script(version: str, notebook: str, python: str) -> str:
    """``setup.sh`` for one lesson's zip (``python``: major.minor, e.g. ``3.11``)."""
    return SETUP.format(version=version, notebook=notebook, python=python, venv=VENV)


def run_script(version: str, notebook: str) -> str:
    """``run_autograder`` for one lesson's zip."""
    return RUN.format(version=version, notebook=notebook, venv=VENV)
