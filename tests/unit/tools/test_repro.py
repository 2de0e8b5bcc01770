"""repro: the matrix cut down to one producer/consumer pair, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import load_matrix
from harness.errors import ConfigError
from harness.tools.repro import narrow

ROOT = Path(__file__).parents[3]
MATRIX = load_matrix(ROOT / "matrix.yaml")


def test_repro_narrows_the_matrix_and_names_mistakes() -> None:
    small = narrow(MATRIX, ["cpu-3.3.1", "cpu-2.6.2"], "rtdetr_tiny", "", "jit_load")
    assert [r.id for r in small.runtimes] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert [m.id for m in small.models] == ["rtdetr_tiny"] and [ld.id for ld in small.loaders] == ["jit_load"]
    assert len(small.export_modes) == len(MATRIX.export_modes)
    with pytest.raises(ConfigError, match="Perhaps you meant 'predictor'"):
        narrow(MATRIX, ["cpu-3.3.1"], "", "", "predictr")


def test_repro_narrows_to_a_deployment_consumer_and_one_of_its_targets() -> None:
    matrix = load_matrix(ROOT / "matrix.yaml")
    lite = next(d for d in matrix.deployments if d.tool == "lite")
    small = narrow(matrix, ["cpu-2.6.2", lite.id], "control_tiny", "", lite.loaders[-1].id)
    assert [rt.id for rt in small.runtimes] == ["cpu-2.6.2"] and [d.id for d in small.deployments] == [lite.id]
    assert [m.id for m in small.models] == ["control_tiny"]
    with pytest.raises(ConfigError, match="unknown loader 'lite-riscv'"):
        narrow(matrix, ["cpu-2.6.2", lite.id], "", "", "lite-riscv")
