"""Try to flip lesson 04's verdicts: run its latency claims N times beside K CPU-bound processes.

For each K (default 0, 2, 4, 8) the script starts K processes that spin (``while True: pass``), runs the
lesson's measurement N times in a worker process, stops the spinners, and prints per claim how often each
verdict came out, with the load averages seen, and the share of claims resolved (holds or does not hold)
per K. A claim that holds on a quiet machine must never come out "does not hold" under load; "not
resolved" is the honest answer to too much noise. A benchmark, not a test: nothing here is asserted.

    python benchmarks/verdict_stability.py --runs 20 --loads 0 2 4 8
    python benchmarks/verdict_stability.py --code old --package-root /tmp/old   # the measurement of another checkout

``--code new`` runs the quick default (``l04_latency.QUICK``, thread CPU time, A/A control) of this checkout or
of ``--package-root``;
``--code old`` runs the lesson cell as it was before those (wall clock, cases 1x32 16x64 32x128, 2 s a case,
8 rounds at least), importing ``lora_course`` from ``--package-root``. Claims are named by case position
(small / middle / large), so the two settings share rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict

WORKER = r"""
import json, re, sys, time
if len(sys.argv) > 3:             # another checkout: drop editable-install finders so its lora_course is imported
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, sys.argv[3])
import numpy as np
import lora_course
print(json.dumps({"package": lora_course.__file__}), flush=True)
from lora_course.lessons.l04_claims import latency_claims
from lora_course.lessons.l04_latency import measure_cases
from lora_course.toy.blocks import StackConfig, build_variants
code, runs = sys.argv[1], int(sys.argv[2])
cfg = StackConfig(d_model=64, n_heads=2, n_layers=2)
models = build_variants(cfg, np.random.default_rng(4), r=4,
                        variants=("frozen", "merged", "lora", "adapter_l", "adapter_h"))
for run in range(runs):
    rng = np.random.default_rng([4, run])
    start = time.perf_counter()
    if code == "old":
        cases = [(1, 32), (16, 64), (32, 128)]
        timed = measure_cases(models, cases, rng, threads=1, target_halfwidth=0.02, max_seconds=2.0, min_rounds=8)
    else:
        from lora_course.lessons.l04_latency import QUICK
        cases = list(QUICK["cases"])
        timed = measure_cases(models, cases, rng, **{k: v for k, v in QUICK.items() if k != "cases"})
    seconds = time.perf_counter() - start
    names = dict(zip((f"{b} x {s}" for b, s in cases), ("small", "middle", "large")))
    claims = latency_claims(timed, rng=rng)
    out = {}
    for c in claims:
        text = re.sub(r" \(.*?\)", "", c.text)
        for label, position in names.items():
            text = text.replace(label, position)
        out[text] = str(c.verdict)
    print(json.dumps({"seconds": seconds, "rounds": [c.comparison.rounds for c in timed], "verdicts": out}),
          flush=True)
"""


def spinners(k: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]


def run_load(k: int, runs: int, code: str, root: str | None) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    spin = spinners(k)
    try:
        time.sleep(1.0 if k else 0.0)
        load_before = os.getloadavg()
        proc = subprocess.run([sys.executable, "-c", WORKER, code, str(runs), *([root] if root else [])], env=env,
                              capture_output=True, text=True, check=False)
        load_after = os.getloadavg()
    finally:
        for p in spin:
            p.kill()
        for p in spin:
            p.wait()
    if proc.returncode:
        raise SystemExit(f"worker failed at K={k}:\n{proc.stderr[-3000:]}")
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {"k": k, "load_before": load_before, "load_after": load_after, "package": records[0]["package"],
            "records": records[1:]}


def report(results: list[dict]) -> str:
    verdicts = ("holds", "does not hold")
    lines = []
    claims = list(dict.fromkeys(c for r in results for rec in r["records"] for c in rec["verdicts"]))
    for r in results:
        recs = r["records"]
        n = len(recs)
        secs = sorted(rec["seconds"] for rec in recs)
        lines.append(f"\nK = {r['k']} extra CPU-bound processes, {n} runs; load average (1 min) "
                     f"{r['load_before'][0]:.1f} at start, {r['load_after'][0]:.1f} at end; "
                     f"measurement {secs[0]:.1f}-{secs[-1]:.1f} s (median {secs[n // 2]:.1f} s)")
        lines.append(f"  {'claim':<62}{'holds':>7}{'fails':>7}{'noise':>7}{'few':>6}{'busy':>6}")
        total = resolved = 0
        for claim in claims:
            count = Counter(rec["verdicts"].get(claim) for rec in recs)
            few = sum(v for key, v in count.items() if key and "too few" in key)
            busy = sum(v for key, v in count.items() if key and "too busy" in key)
            noise = count.get("not resolved at this noise level", 0)
            lines.append(f"  {claim[:61]:<62}{count['holds']:>7}{count['does not hold']:>7}{noise:>7}{few:>6}"
                         f"{busy:>6}")
            total += sum(count[k] for k in count if k)
            resolved += sum(count[v] for v in verdicts)
        lines.append(f"  resolved: {resolved} of {total} verdicts = {100 * resolved / max(total, 1):.0f} %")
    shares = defaultdict(list)
    for r in results:
        for rec in r["records"]:
            shares[r["k"]].append(sum(v in verdicts for v in rec["verdicts"].values()) / len(rec["verdicts"]))
    lines.append("\nshare of verdicts resolved per K: " + ", ".join(
        f"K={k}: {100 * sum(v) / len(v):.0f} %" for k, v in shares.items()))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per load (default 20)")
    parser.add_argument("--loads", type=int, nargs="+", default=[0, 2, 4, 8], help="extra processes (default 0 2 4 8)")
    parser.add_argument("--code", choices=("new", "old"), default="new", help="which measurement (see above)")
    parser.add_argument("--package-root", default=None, help="import lora_course from here (for --code old)")
    parser.add_argument("--json", default=None, help="also write the raw records here")
    args = parser.parse_args()
    if args.runs < 1 or any(k < 0 for k in args.loads):
        raise SystemExit(f"--runs: expected >= 1 and --loads >= 0, got {args.runs} and {args.loads}")
    results = []
    for k in args.loads:
        print(f"K = {k}: {args.runs} runs ...", file=sys.stderr, flush=True)
        results.append(run_load(k, args.runs, args.code, args.package_root))
    print(f"lesson 04 claims, code {args.code} ({results[0]['package']}), {os.cpu_count()} CPUs")
    print(report(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
