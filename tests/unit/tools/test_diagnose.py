"""diagnose: the workarounds tried on a failing cell, cell ids checked against the matrix,
and only failing cells diagnosed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import ExportMode, Loader, load_matrix
from harness.document.cell import CellKey, Result, Status
from harness.errors import ConfigError
from harness.store.layout import Workspace
from harness.store.results import append_result
from harness.tools.diagnose import WORKAROUNDS, NothingToDiagnose, failing_only, parse_cell, red_cells

ROOT = Path(__file__).parents[3]
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
    slug = "cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pir__cpu-2.6.2__predictor"
    assert parse_cell(slug, MATRIX) == CellKey(
        "cpu-3.3.1", "ppyoloe_tiny", "fullgraph_on-pir", "cpu-2.6.2", "predictor"
    )
    with pytest.raises(ConfigError, match="is not a cell id"):
        parse_cell("a__b", MATRIX)
    with pytest.raises(ConfigError, match="unknown producer runtime 'a'"):
        parse_cell("a__b__c__d__e", MATRIX)


@pytest.mark.parametrize(
    ("slug", "kind", "given", "meant"),
    [
        ("cpu-3.3.1__ppyoloe_tinny__fullgraph_on-pir__cpu-2.6.2__predictor", "model", "ppyoloe_tinny", "ppyoloe_tiny"),
        (
            "cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pri__cpu-2.6.2__predictor",
            "export mode",
            "fullgraph_on-pri",
            "fullgraph_on-pir",
        ),
        ("cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pir__cpu-2.6.2__jit-load", "loader", "jit-load", "jit_load"),
        (
            "cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pir__cpu-2.6.3__predictor",
            "consumer runtime",
            "cpu-2.6.3",
            "cpu-2.6.2",
        ),
    ],
)
def test_an_unknown_part_of_a_well_formed_id_is_named_with_a_suggestion(
    slug: str, kind: str, given: str, meant: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_cell(slug, MATRIX)
    [problem] = info.value.problems
    assert problem.startswith(f"unknown {kind} {given!r}. Perhaps you meant {meant!r}?")
    assert slug in info.value.message


# ---------------------------------------------------------------- which cells are worth diagnosing
KEY = CellKey("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_on-pir", "cpu-2.6.2", "predictor")
OTHER = CellKey("cpu-3.3.1", "rtdetr_tiny", "fullgraph_on-pir", "cpu-2.6.2", "predictor")


def test_a_passing_cell_is_nothing_to_diagnose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path)
    append_result(ws.results_file("cpu-2.6.2"), Result.for_cell(KEY, Status.PASS, max_abs_diff=0.0))
    with pytest.raises(NothingToDiagnose) as info:
        failing_only(ws, [KEY])
    assert info.value.exit_code == 0, "asking about a green cell is not an error"
    assert f"nothing to diagnose for {KEY.slug}: pass" in capsys.readouterr().out


def test_only_the_failing_cells_are_diagnosed_and_the_others_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = Workspace(tmp_path)
    append_result(ws.results_file("cpu-2.6.2"), Result.for_cell(KEY, Status.CRASH, error="SIGSEGV"))
    unrecorded = CellKey("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-2.6.2", "predictor")
    append_result(ws.results_file("cpu-2.6.2"), Result.for_cell(OTHER, Status.SKIPPED))
    assert failing_only(ws, [KEY, OTHER, unrecorded]) == [KEY]
    out = capsys.readouterr().out
    assert f"{OTHER.slug}: skipped" in out and f"{unrecorded.slug}: no result recorded" in out
    assert red_cells(ws) == [KEY]


# ---------------------------------------------------------------- deployment consumers
def test_a_lite_cell_tries_a_legacy_re_export_and_the_single_valid_target_x86() -> None:
    from harness.config.deployments import DeployLoader
    from harness.tools.diagnose import deploy_variants

    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-pir", "lite-2.10", "lite-arm+x86")
    found = deploy_variants(key, PIR, DeployLoader("lite-arm+x86", "lite", target="arm,x86"))
    assert [(v.name, v.mode.program_format, v.loader.id, v.exporter) for v in found] == [
        ("re-export with the legacy program format (FLAGS_enable_pir_api=0)", "legacy", "lite-arm+x86", "cpu-3.3.1"),
        ("convert for the single valid target x86 (--valid_targets=x86)", "pir", "lite-x86", "cpu-3.3.1"),
    ]
    legacy = ExportMode(id="fullgraph_on-legacy", full_graph=True, program_format="legacy")
    assert deploy_variants(key, legacy, DeployLoader("lite-x86", "lite", target="x86")) == [], "nothing left to try"


def test_an_onnx_cell_tries_other_opsets() -> None:
    from harness.config.deployments import DeployLoader
    from harness.tools.diagnose import deploy_variants

    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-legacy", "onnx-p2o-2.1.0", "onnx-opset13")
    legacy = ExportMode(id="fullgraph_on-legacy", full_graph=True, program_format="legacy")
    found = deploy_variants(key, legacy, DeployLoader("onnx-opset13", "onnx", opset=13))
    assert [(v.name, v.loader.id) for v in found] == [
        ("convert at opset 11 instead (--opset_version=11)", "onnx-opset11"),
        ("convert at opset 16 instead (--opset_version=16)", "onnx-opset16"),
    ]


def test_deployment_cells_are_checked_against_their_own_loaders() -> None:
    dep = MATRIX.deployments[0]
    slug = f"cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pir__{dep.id}__{dep.loaders[0].id}"
    assert parse_cell(slug, MATRIX).consumer == dep.id
    with pytest.raises(ConfigError, match="unknown loader 'predictor'"):
        parse_cell(f"cpu-3.3.1__ppyoloe_tiny__fullgraph_on-pir__{dep.id}__predictor", MATRIX)
