from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ExportMode, Loader, load_matrix
from harness.diagnose import WORKAROUNDS, parse_cell
from harness.errors import ConfigError
from harness.repro import narrow
from harness.status import CellKey

ROOT = Path(__file__).parents[2]
MATRIX = load_matrix(ROOT / "matrix.yaml")
PIR = ExportMode(id="fullgraph_on-pir", full_graph=True, program_format="pir")
PREDICTOR = Loader(id="predictor", api="predictor")


def variants(
    key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, bool]
) -> dict[str, tuple[str, str, str, str]]:
    found = [w(key, mode, loader, caps) for w in WORKAROUNDS]
    return {
        v.name: (
            v.mode.program_format,
            str(v.mode.full_graph),
            v.loader.id,
            v.exporter + "<" + (v.weights_from or "own"),
        )
        for v in found
        if v is not None
    }


def test_every_known_workaround_is_tried_on_a_pir_predictor_cell() -> None:
    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-pir", "cpu-2.6.2", "predictor")
    got = variants(key, PIR, PREDICTOR, {"pir_programs": False})
    assert got == {
        "re-export with the legacy program format (FLAGS_enable_pir_api=0)": (
            "legacy",
            "True",
            "predictor",
            "cpu-3.3.1<own",
        ),
        "export with full_graph=False": ("pir", "False", "predictor", "cpu-3.3.1<own"),
        "IR optimisation off (config.switch_ir_optim(False))": (
            "pir",
            "True",
            "predictor~ir_optim-off",
            "cpu-3.3.1<own",
        ),
        "oneDNN off (config.disable_mkldnn())": ("pir", "True", "predictor~onednn-off", "cpu-3.3.1<own"),
        "load with paddle.jit.load instead": ("pir", "True", "predictor~jit_load", "cpu-3.3.1<own"),
        # the consumer cannot write PIR, so it exports the producer's weights in its own format
        "train high, export low: cpu-3.3.1's weights exported in cpu-2.6.2": (
            "legacy",
            "True",
            "predictor",
            "cpu-2.6.2<cpu-3.3.1",
        ),
    }


def test_workarounds_that_would_change_nothing_are_left_out() -> None:
    legacy = ExportMode(id="fullgraph_off-legacy", full_graph=False, program_format="legacy")
    jit = Loader(id="jit_load", api="jit_load")
    key = CellKey("cpu-2.6.2", "m", legacy.id, "cpu-2.6.2", "jit_load")
    got = variants(key, legacy, jit, {"pir_programs": False})
    assert set(got) == {"export with full_graph=True", "load with paddle.inference instead"}


def test_cell_ids_are_checked() -> None:
    assert parse_cell("a__b__c__d__e", MATRIX) == CellKey("a", "b", "c", "d", "e")
    with pytest.raises(ConfigError, match="is not a cell id"):
        parse_cell("a__b", MATRIX)


def test_repro_narrows_the_matrix_and_names_mistakes() -> None:
    small = narrow(MATRIX, ["cpu-3.3.1", "cpu-2.6.2"], "rtdetr_tiny", "", "jit_load")
    assert [r.id for r in small.runtimes] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert [m.id for m in small.models] == ["rtdetr_tiny"] and [ld.id for ld in small.loaders] == ["jit_load"]
    assert len(small.export_modes) == len(MATRIX.export_modes)
    with pytest.raises(ConfigError, match="Perhaps you meant 'predictor'"):
        narrow(MATRIX, ["cpu-3.3.1"], "", "", "predictr")
