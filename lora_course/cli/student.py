"""``lora-course student``: regenerate the student notebooks, and optionally execute both versions."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from lora_course.authoring.student import generate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None, help="course folder (default: found from here)")
    parser.add_argument("--execute", action="store_true",
                        help="also run every solution and student notebook and store its outputs")
    parser.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks, by number prefix (e.g. 03)")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell time limit in seconds when executing")


def execute_in_place(path: Path, timeout: int) -> None:
    """Run a notebook top to bottom in a fresh kernel (cells tagged raises-exception may raise) and save it."""
    from lora_course.support.workspace import kernel_metadata

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    # nbclient stores language_info but not the kernelspec; JupyterLab rewrites a kernelspec that differs
    # from the installed kernel's and so marks the notebook modified as soon as it is opened.
    nb.metadata["kernelspec"] = kernel_metadata()["kernelspec"]
    for cell in nb.cells:  # one stream output per run of prints, however the kernel happened to flush them
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(nb, path)


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same name (stdout / stderr) into one."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if out.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream" \
                and last.get("name") == out.get("name"):
            last["text"] = "".join(last["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def run(args: argparse.Namespace) -> int:
    from lora_course.support.course_root import find_course_root

    root = args.root.resolve() if args.root else find_course_root()
    written = generate(root / "solutions", root / "notebooks", only=args.only)
    for path in written:
        print(f"generated {path.relative_to(root)}")
    if args.execute:
        targets = [root / "solutions" / p.name for p in written] + written
        for i, path in enumerate(targets, 1):
            missing = missing_requirements(path)
            if missing:
                print(f"[{i}/{len(targets)}] skipping {path.relative_to(root)}: it needs {', '.join(missing)} "
                      "(pip install -e '.[torch]', then run this again)", flush=True)
                continue
            print(f"[{i}/{len(targets)}] executing {path.relative_to(root)}", flush=True)
            execute_in_place(path, args.timeout)
    return 0


def missing_requirements(path: Path) -> list[str]:
    """Packages a notebook declares in its metadata (``lora_course.requires``) that this Python cannot import."""
    import importlib.util

    requires = nbformat.read(path, as_version=4).metadata.get("lora_course", {}).get("requires", [])
    return [name for name in requires if importlib.util.find_spec(name) is None]
