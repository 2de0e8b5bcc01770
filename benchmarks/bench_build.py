"""Cost of building a runtime twice from one shared uv cache, measured in one run.

    python benchmarks/bench_build.py [--matrix matrix.yaml] [--runtime cpu-3.3.1]

The first build starts from an empty uv cache (downloads every wheel); the second builds
the same runtime into another work directory from that cache (uv hard-links from it).
Prints the ratio second/first (the design's target: at most 0.10). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.config.matrix import load_matrix  # noqa: E402
from harness.runtimes.venv import VenvBackend  # noqa: E402


def timed_build(work: Path, rt: object) -> float:
    started = time.monotonic()
    VenvBackend(work).prepare(rt)  # type: ignore[arg-type]
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--matrix", default="matrix.yaml")
    ap.add_argument("--runtime", default="cpu-3.3.1")
    args = ap.parse_args()
    rt = load_matrix(args.matrix).runtime(args.runtime)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        os.environ["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")  # same filesystem as the venvs
        first = timed_build(Path(tmp) / "a", rt)
        second = timed_build(Path(tmp) / "b", rt)
    print(f"{rt.requirement}: first build {first:.1f} s (empty cache), second {second:.1f} s (shared cache)")
    print(f"second / first = {second / first:.2f}  (target <= 0.10)")


if __name__ == "__main__":
    main()
