"""Verdict truth against a hostile user: faults planted after a normal run, in real consumer
runtimes (a site-packages hook that shifts every output, one that returns NaN scores, an
edit to an existing file inside the installed paddle/ package) and in real exports (params
truncated, program corrupted). A re-run WITHOUT --fresh must recompute those cells and never
call them `pass`; once everything is restored, the original verdicts come back from the cache.

The faults go into a hard-linked copy of the session's work directory: every planted file is
written as a new inode, so the session's own runtimes and exports stay untouched."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import harness

pytestmark = pytest.mark.runtime

# Wraps paddle.inference.create_predictor and paddle.jit.load so that every float output
# goes through FAULT. Installed either from a .pth hook (after paddle imports) or appended
# to paddle/inference/__init__.py itself.
WRAPPERS = r'''
import numpy as _np


def _fault(array):
    array = _np.array(array)
    if array.dtype.kind != "f":
        return array
    if MODE == "nan":
        if array.ndim == 2 and array.shape[1] == 6:
            array[:, 1] = _np.nan  # detection scores
        else:
            array[...] = _np.nan
        return array
    return array + 0.5


class _Handle(object):
    def __init__(self, handle):
        self._handle = handle

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def copy_to_cpu(self):
        return _fault(self._handle.copy_to_cpu())


class _Predictor(object):
    def __init__(self, predictor):
        self._predictor = predictor

    def __getattr__(self, name):
        return getattr(self._predictor, name)

    def get_output_handle(self, name):
        return _Handle(self._predictor.get_output_handle(name))


class _Layer(object):
    def __init__(self, layer):
        self._layer = layer

    def __getattr__(self, name):
        return getattr(self._layer, name)

    def __call__(self, *args):
        import paddle
        out = self._layer(*args)
        many = isinstance(out, (list, tuple))
        faulted = [paddle.to_tensor(_fault(o.numpy())) for o in (out if many else [out])]
        return faulted if many else faulted[0]


def _patch(paddle):
    if getattr(paddle, "_harness_fault", False):
        return
    try:  # paddle may still be importing itself: patch once both names exist
        create, load = paddle.inference.create_predictor, paddle.jit.load
    except AttributeError:
        return
    paddle._harness_fault = True
    paddle.inference.create_predictor = lambda config: _Predictor(create(config))
    paddle.jit.load = lambda *a, **k: _Layer(load(*a, **k))
'''

PTH_HOOK = WRAPPERS + r'''
import builtins as _builtins
import sys as _sys

_real_import = _builtins.__import__


def _import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    paddle = _sys.modules.get("paddle")
    if paddle is not None and "paddle.inference" in _sys.modules and "paddle.jit" in _sys.modules:
        _patch(paddle)
    return module


_builtins.__import__ = _import
'''


def site_packages(work: Path, rt: str) -> Path:
    [found] = (work / "runtimes" / rt / "venv" / "lib").glob("python3.*/site-packages")
    return found


def replace_file(path: Path, data: bytes) -> None:
    """Write as a new inode: the hard-linked original keeps its bytes."""
    path.unlink()
    path.write_bytes(data)


def plant_hook(work: Path, rt: str, mode: str) -> None:
    site = site_packages(work, rt)
    (site / "harness_fault_hook.py").write_text(f"MODE = {mode!r}\n" + PTH_HOOK)
    (site / "zz_harness_fault.pth").write_text("import harness_fault_hook\n")


def remove_hook(work: Path, rt: str) -> None:
    site = site_packages(work, rt)
    for name in ("harness_fault_hook.py", "zz_harness_fault.pth"):
        (site / name).unlink(missing_ok=True)


def rerun(work: Path, reports: Path) -> tuple[dict[str, Any], str]:
    proc = harness("matrix", "--jobs", "2", "--history", "none", work=work, reports=reports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((reports / "results.json").read_text()), proc.stdout


def by_slug(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = ("producer", "model", "export", "consumer", "loader")
    return {"__".join(c[k] for k in keys): c for c in results["cells"]}


def computed(stdout: str, consumer: str) -> int:
    found = re.search(rf"\[load {re.escape(consumer)}\] \d+ cells: computed (\d+), reused (\d+)", stdout)
    assert found, stdout
    return int(found.group(1))


def test_planted_faults_are_recomputed_never_passed_and_restoring_brings_the_verdicts_back(
    run: dict[str, Any], tmp_path: Path
) -> None:
    original = by_slug(run["results"])
    work, reports = tmp_path / "work", tmp_path / "reports"
    subprocess.run(["cp", "-al", str(run["work"]), str(work)], check=True)
    # Results and logs are appended to in place: the copy gets its own.
    for appended in ("results", "logs"):
        shutil.rmtree(work / appended, ignore_errors=True)
    passing = {s for s, c in original.items() if c["status"] == "pass"}
    assert passing, "the normal run must have passing cells to break"

    # 1. cpu-3.3.1 gets a site-packages hook that shifts every output by 0.5; an existing
    #    file inside cpu-2.6.2's paddle/ is edited to do the same; two exports are damaged.
    plant_hook(work, "cpu-3.3.1", "shift")
    inference = site_packages(work, "cpu-2.6.2") / "paddle" / "inference" / "__init__.py"
    pristine = inference.read_bytes()
    # paddle.inference is imported by paddle itself: the edit rebinds the name in that module.
    edit = "\nMODE = 'shift'\n" + WRAPPERS + (
        "\n_real_create = create_predictor\n\n\ndef create_predictor(config):\n"
        "    return _Predictor(_real_create(config))\n"
    )
    replace_file(inference, pristine + edit.encode())
    damaged = {
        "cpu-2.6.2/ppyoloe_tiny/fullgraph_on-legacy": ("model.pdiparams", lambda b: b[: len(b) // 2]),
        "cpu-3.3.1/rtdetr_tiny/fullgraph_on-pir": ("model.json", lambda b: b"{not a program"),
    }
    saved = {}
    for export, (name, damage) in damaged.items():
        path = work / "exports" / export / name
        saved[path] = path.read_bytes()
        replace_file(path, damage(saved[path]))

    faulty, stdout = rerun(work, reports)
    assert computed(stdout, "cpu-3.3.1") > 0 and computed(stdout, "cpu-2.6.2") > 0, stdout
    cells = by_slug(faulty)
    shifted_predictors = {s for s in passing if cells[s]["consumer"] == "cpu-2.6.2" and "predictor" in s.split("__")[-1]}
    hooked = {s for s in passing if cells[s]["consumer"] == "cpu-3.3.1"}
    broken_exports = {s for s in original if "/".join(s.split("__")[:3]) in damaged}
    for slug in hooked | shifted_predictors | broken_exports:
        assert cells[slug]["status"] != "pass", (slug, cells[slug])
    assert any(cells[s]["status"] == "mismatch" for s in hooked), "a shifted output is a mismatch, with numbers"
    assert {cells[s]["status"] for s in broken_exports} - {"pass"}, broken_exports

    # 2. The hook in cpu-3.3.1 now returns NaN scores instead.
    remove_hook(work, "cpu-3.3.1")
    plant_hook(work, "cpu-3.3.1", "nan")
    nan_run, stdout = rerun(work, reports)
    assert computed(stdout, "cpu-3.3.1") > 0, stdout
    cells = by_slug(nan_run)
    for slug in hooked:
        assert cells[slug]["status"] != "pass", (slug, cells[slug])
    assert any("non-finite" in cells[s]["error"] or "NaN" in cells[s]["error"] for s in hooked)
    json.loads((reports / "results.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))

    # 3. Everything restored: the verdicts of the normal run come back, re-used, not recomputed.
    remove_hook(work, "cpu-3.3.1")
    replace_file(inference, pristine)
    for path, data in saved.items():
        replace_file(path, data)
    restored, stdout = rerun(work, reports)
    cells = by_slug(restored)
    assert {s: c["status"] for s, c in cells.items()} == {s: c["status"] for s, c in original.items()}
    assert "reused" in stdout and computed(stdout, "cpu-3.3.1") == 0, stdout
