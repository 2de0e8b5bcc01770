"""harness.document.cell: the cell record (Result) and the helpers that fill it."""

from __future__ import annotations

import json
from pathlib import Path

from harness.config.matrix import load_matrix
from harness.config.plan import planned_cells
from harness.document.cell import Result, Status, clip
from harness.inside.common import error_summary

ROOT = Path(__file__).parents[3]
MATRIX = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


def test_a_result_round_trips_through_json() -> None:
    key = planned_cells(MATRIX)[0]
    original = Result.for_cell(key, Status.MISMATCH, error="e", max_abs_diff=0.5, details={"matched": 1})
    assert Result.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_clip_keeps_both_ends() -> None:
    text = "HEAD" + "x" * 50000 + "TAIL"
    clipped = clip(text, 1000)
    assert clipped.startswith("HEAD") and clipped.endswith("TAIL") and len(clipped) < 1100


def test_error_summary_finds_the_line_people_grep_for() -> None:
    cxx = "\n\n----\nC++ Traceback (most recent call last):\n0 foo\n----\nError Message Summary:\n----\nNotFoundError: x\n"
    dy2static = "In transformed code:\n\n  File a.py\n\n    TypeError: (InvalidType) matmul(): bad\n"
    assert error_summary(cxx) == "NotFoundError: x"
    assert error_summary(dy2static) == "TypeError: (InvalidType) matmul(): bad"
    # Paddle 3.3's predictor on a quantized PIR program: the error's own line, not the context after it.
    pir = (
        "In user code:\n\n\n    PreconditionNotMetError: Tensor holds no memory. Call Tensor::mutable_data firstly.\n"
        "      [Hint: holder_ should not be null.] (at dense_tensor_impl.cc:38)\n"
        "      [operator < pd_kernel.phi_kernel > error]\n"
    )
    assert error_summary(pir) == "PreconditionNotMetError: Tensor holds no memory. Call Tensor::mutable_data firstly."
    assert (
        error_summary("Can't call main_program when full_graph=False.")
        == "Can't call main_program when full_graph=False."
    )
