"""The numpy course never imports PyTorch or PEFT: only lora_course/torch_bridge/ and notebook 06 may."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
IMPORT = re.compile(r"^\s*(import|from)\s+(torch|peft|transformers)\b", re.MULTILINE)
ALLOWED_NOTEBOOK = "06_torch_and_peft.ipynb"


def test_package_imports_torch_only_in_torch_bridge():
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "lora_course").rglob("*.py")
                 if "torch_bridge" not in p.parts and IMPORT.search(p.read_text())]
    assert not offenders, f"torch/peft imported outside lora_course/torch_bridge/: {offenders}"


def test_lessons_do_not_import_torch():
    offenders = []
    for folder in ("solutions", "notebooks"):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            if path.name == ALLOWED_NOTEBOOK:
                continue
            source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
            if IMPORT.search(source) or "torch_bridge" in source:
                offenders.append(f"{folder}/{path.name}")
    assert not offenders, f"numpy lessons importing torch/peft: {offenders}"


def test_bench_cli_imports_torch_only_for_the_torch_backend():
    source = (ROOT / "lora_course" / "cli" / "bench.py").read_text()
    assert "import torch" not in source
    assert "from lora_course.torch_bridge.bench_cli import" in source  # the hook, inside run()
