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
