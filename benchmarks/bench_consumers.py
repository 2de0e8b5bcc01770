"""What each consumer costs in one run: Paddle runtimes and deployment consumers side by side.

    python benchmarks/bench_consumers.py [reports/results.json]

Reads the results document of a run (cells the run computed carry duration_s; a deployment
cell also convert_s, load_s and run_s) and prints, per consumer, the cells it ran, their total
and median wall time, and the ratio of its median to the median Paddle consumer's. One run,
ratios only: the machine is shared. Cells re-used from the cache keep the time of the run that
computed them.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "reports/results.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    tools = {r["id"]: r.get("tool", "") for r in doc["runtimes"]}
    timed: dict[str, list[dict[str, Any]]] = {}
    for cell in doc["cells"]:
        if cell.get("duration_s") is not None:
            timed.setdefault(cell["consumer"], []).append(cell)
    if not timed:
        print(f"{path}: no cell carries a duration (nothing ran?)")
        return 1
    medians = {c: statistics.median(x["duration_s"] for x in cells) for c, cells in timed.items()}
    paddle = [m for c, m in medians.items() if not tools.get(c)]
    base = statistics.median(paddle) if paddle else None
    header = f"{'consumer':<18} {'kind':<7} {'cells':>5} {'total s':>8} {'median s':>8} {'vs Paddle':>9}"
    print(f"{header}  stages (median s)")
    for consumer, cells in sorted(timed.items(), key=lambda kv: (bool(tools.get(kv[0])), kv[0])):
        total = sum(x["duration_s"] for x in cells)
        ratio = f"{medians[consumer] / base:8.2f}x" if base else "        -"
        stages = []
        for stage in ("convert_s", "load_s", "run_s"):
            values = [x["details"][stage] for x in cells if isinstance(x.get("details", {}).get(stage), (int, float))]
            if values:
                stages.append(f"{stage[:-2]} {statistics.median(values):.3f}")
        kind = tools.get(consumer) or "paddle"
        row = f"{consumer:<18} {kind:<7} {len(cells):>5} {total:>8.1f} {medians[consumer]:>8.3f} {ratio}"
        print(f"{row}  {', '.join(stages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
