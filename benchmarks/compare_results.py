"""Compare the verdicts of two results documents cell by cell.

    python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json

Used to show that a refactoring changed no verdict: both documents computed from an empty
work directory (no cached verdict re-used). Prints how many cells each has, how many agree
on (status, stage) and every cell that differs or exists in only one; exits 1 on any
difference. Reads plain JSON, so it compares documents of any harness version.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path
from typing import Any

KEY = ("producer", "model", "export", "consumer", "loader")


def cells(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"__".join(c[k] for k in KEY): c for c in data["cells"]}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = (cells(Path(p)) for p in argv)
    common = sorted(set(before) & set(after))
    differ = [s for s in common if (before[s]["status"], before[s]["stage"]) != (after[s]["status"], after[s]["stage"])]
    only = {"before": sorted(set(before) - set(after)), "after": sorted(set(after) - set(before))}
    print(f"cells: before {len(before)}, after {len(after)}, in both {len(common)}")
    print(f"same (status, stage): {len(common) - len(differ)} of {len(common)}")
    print("statuses after: " + ", ".join(f"{k}={v}" for k, v in sorted(collections.Counter(
        after[s]["status"] for s in common).items())))
    for slug in differ:
        b, a = before[slug], after[slug]
        print(f"DIFFERS {slug}: {b['status']}/{b['stage']} -> {a['status']}/{a['stage']}: {a.get('error', '')[:160]}")
    for side, slugs in only.items():
        for slug in slugs:
            print(f"ONLY {side}: {slug}")
    return 1 if differ or only["before"] or only["after"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
