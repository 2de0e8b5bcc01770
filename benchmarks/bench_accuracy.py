"""What the accuracy verdict costs: the host's mAP per cell, and the evaluation set's share
of a cell's run.

    python benchmarks/bench_accuracy.py [reports/results.json] [work]

From one run's results document and work directory:
- host: times harness.phases.accuracy.coco_map (pycocotools) on each export's evaluation set
  with the producer's own reference detections, i.e. what judging one cell adds on the host,
  against the median cell's wall time;
- runtime: the median run_s of detector cells (fixed scenes + the evaluation images) against
  the positive control's (fixed scenes only, no evaluation set), per Paddle consumer.
One run, ratios and medians only: the machine is shared.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from harness.phases import accuracy


def main(argv: list[str]) -> int:
    results = Path(argv[0] if argv else "reports/results.json")
    work = Path(argv[1] if len(argv) > 1 else "work")
    doc = json.loads(results.read_text(encoding="utf-8"))
    exports = sorted({p.parent for p in (work / "exports").glob("*/*/*/reference_eval.npz")})
    if not exports:
        print(f"{work}: no export carries an evaluation set")
        return 1
    seconds = []
    for out in exports:
        truth = accuracy.read_eval_truth(out)
        if truth is None:
            continue
        detections = accuracy.reference_per_image(out / "reference_eval.npz")
        started = time.perf_counter()
        accuracy.coco_map(truth, detections)
        seconds.append(time.perf_counter() - started)
    durations = [c["duration_s"] for c in doc["cells"] if c.get("duration_s")]
    cell = statistics.median(durations) if durations else None
    per_cell = statistics.median(seconds)
    print(f"host mAP (pycocotools, {len(truth)} images): median {per_cell * 1000:.1f} ms over {len(seconds)} exports")
    if cell:
        print(f"  = {per_cell / cell:.3f}x the median cell's wall time ({cell:.2f} s, {len(durations)} timed cells)")
    tools = {r["id"]: r.get("tool", "") for r in doc["runtimes"]}
    runs: dict[tuple[str, bool], list[float]] = {}
    for c in doc["cells"]:
        run_s = c.get("details", {}).get("run_s")
        if run_s is None or tools.get(c["consumer"]):
            continue
        runs.setdefault((c["consumer"], "accuracy" in c["details"]), []).append(float(run_s))
    print(f"{'consumer':<14} {'detector run_s':>14} {'control run_s':>14} {'ratio':>7}")
    for consumer in sorted({k for k, _ in runs}):
        with_eval, without = runs.get((consumer, True)), runs.get((consumer, False))
        if not with_eval or not without:
            continue
        a, b = statistics.median(with_eval), statistics.median(without)
        print(f"{consumer:<14} {a:14.3f} {b:14.3f} {a / b if b else float('nan'):6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
