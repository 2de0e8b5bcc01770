"""`python -m harness check`: everything decided on the host, without Paddle or processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import check, cli, report, runner
from harness.check import CheckError, ImageSize, InputSpec, Ran
from harness.config import Loader, Runtime, load_matrix
from harness.plan import Workspace
from harness.status import CellKey, Result, Status
from harness.store import write_json_atomic
from harness.worker_client import Outcome

ROOT = Path(__file__).parents[2]
SMALL = ROOT / "tests" / "data" / "matrix-small.yaml"
CFG = ROOT / "tests" / "data" / "check"


def model_dir(root: Path, *names: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(b"x")
    return root


# ---------------------------------------------------------------- finding the model
def test_a_directory_with_a_legacy_program_is_resolved_with_its_params_info_and_infer_cfg(tmp_path: Path) -> None:
    d = model_dir(
        tmp_path / "output_inference" / "ppyoloe_crn_s",
        "model.pdmodel",
        "model.pdiparams",
        "model.pdiparams.info",
        "infer_cfg.yml",
    )
    found = check.resolve_model(d)
    assert (found.program, found.params, found.program_format) == (
        d / "model.pdmodel",
        d / "model.pdiparams",
        "legacy",
    )
    assert found.infer_cfg == d / "infer_cfg.yml"
    assert found.extras == (d / "model.pdiparams.info",)
    assert found.name == "ppyoloe_crn_s"


def test_a_directory_with_a_pir_program_ignores_other_json_files(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "rtdetr", "inference.json", "inference.pdiparams")
    (d / "config.json").write_text('{"not": "a program"}')
    found = check.resolve_model(d)
    assert (found.program.name, found.program_format, found.infer_cfg) == ("inference.json", "pir", None)


def test_a_pir_program_without_params_is_still_recognised_by_its_header(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.json").write_text('{"base_code":{"magic":"pir","trainable":true,"version":1},"program":{')
    with pytest.raises(CheckError) as err:
        check.resolve_model(d)
    assert f"expected {d / 'model.pdiparams'}" in str(err.value)


def test_a_prefix_names_the_program_and_a_generic_stem_takes_the_directory_name(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "picodet_s_416", "model.json", "model.pdiparams")
    found = check.resolve_model(d / "model")
    assert (found.program, found.program_format, found.name) == (d / "model.json", "pir", "picodet_s_416")
    named = model_dir(tmp_path / "many", "yolov3 darknet.pdmodel", "yolov3 darknet.pdiparams")
    assert check.resolve_model(named / "yolov3 darknet").name == "yolov3_darknet"


def test_the_program_or_params_file_itself_may_be_given(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "m", "model.pdmodel", "model.pdiparams", "model.json")
    assert check.resolve_model(d / "model.pdmodel").program == d / "model.pdmodel"
    with pytest.raises(CheckError, match="model.json, model.pdmodel"):
        check.resolve_model(d / "model.pdiparams")  # its prefix holds two programs


def test_a_directory_with_no_model_is_a_clear_error_listing_what_it_holds(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "weights", "model_final.pdparams", "README.md")
    with pytest.raises(CheckError) as err:
        check.resolve_model(d)
    text = str(err.value)
    assert text.startswith(f"no exported model in {d}: it holds no .pdmodel or PIR .json program")
    assert "README.md, model_final.pdparams" in text
    assert "output_inference/<model>/" in text  # what to pass instead
    assert err.value.exit_code != 0


def test_two_programs_in_a_directory_are_named_both(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "two", "a.pdmodel", "a.pdiparams", "b.json", "b.pdiparams")
    with pytest.raises(CheckError) as err:
        check.resolve_model(d)
    assert "holds 2 programs (a.pdmodel, b.json)" in str(err.value)
    assert f"python -m harness check {d / 'a.pdmodel'}" in str(err.value)


def test_missing_params_names_the_expected_file(tmp_path: Path) -> None:
    d = model_dir(tmp_path / "m", "model.pdmodel")
    with pytest.raises(CheckError) as err:
        check.resolve_model(d)
    assert str(err.value).startswith(f"{d / 'model.pdmodel'} has no parameters file: expected {d / 'model.pdiparams'}")


def test_a_path_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match="does not exist: it is not a directory, and there is no model.json or model"):
        check.resolve_model(tmp_path / "nowhere" / "model")


def test_an_unreadable_directory_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = model_dir(tmp_path / "locked", "model.pdmodel")

    def refuse(self: Path) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(CheckError, match=f"cannot read the directory {d}: Permission denied"):
        check.resolve_model(d)


# ---------------------------------------------------------------- infer_cfg.yml
def test_paddledetection_infer_cfg_gives_the_resize_target() -> None:
    assert check.read_infer_cfg(CFG / "ppyoloe_infer_cfg.yml") == ImageSize(640, 640, 3)


def test_pad_stride_rounds_the_resize_target_up() -> None:
    assert check.read_infer_cfg(CFG / "faster_rcnn_infer_cfg.yml") == ImageSize(800, 1344, 3)


@pytest.mark.parametrize(
    ("preprocess", "expected"),
    [
        ([{"type": "Resize", "target_size": 320}], ImageSize(320, 320)),
        ([{"type": "ResizeImage", "image_shape": [1, 224, 160]}], ImageSize(224, 160, 1)),
        ([{"type": "Resize", "target_size": [608, 608]}, {"type": "Pad", "size": [640, 640]}], ImageSize(640, 640)),
        ([{"type": "NormalizeImage"}, {"type": "Permute"}], None),
        ([{"type": "Resize", "target_size": [-1, -1]}], None),
    ],
)
def test_preprocess_steps_are_read_in_order(preprocess: list[dict[str, Any]], expected: ImageSize | None) -> None:
    assert check.image_size_from_cfg({"Preprocess": preprocess}) == expected


def test_a_cfg_without_preprocess_says_nothing() -> None:
    assert check.image_size_from_cfg({"mode": "paddle"}) is None
    assert check.image_size_from_cfg(["not", "a", "mapping"]) is None


def test_a_broken_infer_cfg_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "infer_cfg.yml"
    cfg.write_text("Preprocess: [unclosed\n")
    with pytest.raises(CheckError) as err:
        check.read_infer_cfg(cfg)
    assert str(err.value).startswith(f"cannot read {cfg}:")
    assert "--input NAME:SHAPE:DTYPE" in str(err.value)


# ---------------------------------------------------------------- --input
def test_input_flags_parse_with_and_without_dtype() -> None:
    assert check.parse_input_flag("image:1,3,640,640:float32") == InputSpec(
        "image", (1, 3, 640, 640), "float32", "--input"
    )
    assert check.parse_input_flag("im_shape:[1,2]") == InputSpec("im_shape", (1, 2), "", "--input")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("image", "--input 'image' is not NAME:SHAPE:DTYPE"),
        ("image:1:2:3:4", "is not NAME:SHAPE:DTYPE"),
        (":1,2:float32", "is not NAME:SHAPE:DTYPE"),
        ("image:1,3,H,W:float32", "the shape '1,3,H,W' is not a comma-separated list of integers"),
        ("image:1,3,-1,640", "every dimension must be a positive size (no -1 or 0)"),
        ("image:1,3,64,64:float", "unknown dtype 'float'"),
    ],
)
def test_bad_input_flags_say_what_is_wrong(flag: str, message: str) -> None:
    with pytest.raises(CheckError) as err:
        check.parse_input_flag(flag)
    assert message in str(err.value)
    assert "e.g. --input image:1,3,640,640:float32" in str(err.value) or "use one of float32" in str(err.value)


def test_an_input_given_twice_is_refused() -> None:
    with pytest.raises(CheckError, match="--input names image more than once"):
        check.parse_input_flags(["image:1,3,8,8", "image:1,3,9,9"])


# ---------------------------------------------------------------- from the program to the fixed input
DETECTOR = [
    {"name": "im_shape", "shape": [-1, 2], "dtype": "float32"},
    {"name": "image", "shape": [-1, 3, -1, -1], "dtype": "float32"},
    {"name": "scale_factor", "shape": [-1, 2], "dtype": "float32"},
]


def test_fixed_program_shapes_are_used_as_they_are() -> None:
    specs = check.resolve_inputs([], [{"name": "image", "shape": [1, 3, 64, 64], "dtype": "float32"}], None, "m")
    assert specs == [InputSpec("image", (1, 3, 64, 64), "float32", "the program")]


def test_open_dimensions_come_from_infer_cfg_and_batch_is_one() -> None:
    specs = check.resolve_inputs([], DETECTOR, ImageSize(640, 608), "m")
    assert [(s.name, s.shape) for s in specs] == [
        ("im_shape", (1, 2)),
        ("image", (1, 3, 640, 608)),
        ("scale_factor", (1, 2)),
    ]
    assert specs[1].source == "the program + infer_cfg.yml"


def test_input_flags_win_and_keep_the_program_dtype() -> None:
    flags = check.parse_input_flags(["image:2,3,320,320"])
    specs = check.resolve_inputs(flags, DETECTOR, ImageSize(640, 640), "m")
    assert specs[1] == InputSpec("image", (2, 3, 320, 320), "float32", "--input")


def test_an_input_flag_the_program_does_not_take_is_refused() -> None:
    with pytest.raises(CheckError, match="--input names img, but m takes: im_shape, image, scale_factor"):
        check.resolve_inputs(check.parse_input_flags(["img:1,3,8,8"]), DETECTOR, None, "m")


def test_shapes_nobody_can_tell_ask_for_the_exact_flag() -> None:
    with pytest.raises(CheckError) as err:
        check.resolve_inputs([], DETECTOR, None, "/models/ppyoloe/model.pdmodel")
    text = str(err.value)
    assert text.startswith("cannot infer the input shapes of /models/ppyoloe/model.pdmodel")
    assert "there is no infer_cfg.yml beside it" in text
    assert "  - image: shape [-1, 3, -1, -1] (float32)" in text
    assert "--input image:1,3,H,W:float32" in text
    assert "im_shape" not in text.split("TIP")[0]  # batch 1 settles it: only the open input is named


def test_an_unreported_shape_asks_for_the_whole_shape() -> None:
    with pytest.raises(CheckError) as err:
        check.resolve_inputs([], [{"name": "x", "shape": None, "dtype": "int64"}], ImageSize(8, 8), "m")
    assert "x: shape not reported by any runtime (int64)" in str(err.value)
    assert "--input x:D0,D1,...:int64" in str(err.value)
    assert "infer_cfg.yml does not fill them" in str(err.value)


def test_a_dtype_numpy_cannot_make_is_refused_with_the_flag() -> None:
    with pytest.raises(CheckError, match="--input x:1,4:float32"):
        check.resolve_inputs([], [{"name": "x", "shape": [1, 4], "dtype": "bfloat16"}], None, "m")


def test_an_unreadable_program_falls_back_to_flags_then_infer_cfg_then_nothing() -> None:
    flags = check.parse_input_flags(["x:1,4"])
    assert check.resolve_inputs(flags, None, None, "m") == [InputSpec("x", (1, 4), "float32", "--input")]
    specs = check.resolve_inputs([], None, ImageSize(320, 320), "m")
    assert [(s.name, s.shape) for s in specs] == [
        ("image", (1, 3, 320, 320)),
        ("im_shape", (1, 2)),
        ("scale_factor", (1, 2)),
    ]
    assert check.resolve_inputs([], None, None, "m") == []


def test_generated_inputs_follow_paddledetection_conventions() -> None:
    specs = [
        InputSpec("im_shape", (1, 2), "float32"),
        InputSpec("image", (1, 3, 32, 48), "float32"),
        InputSpec("scale_factor", (1, 2), "float32"),
        InputSpec("ids", (1, 5), "int64"),
    ]
    arrays = check.make_inputs(specs)
    assert arrays["im_shape"].tolist() == [[32.0, 48.0]]
    assert arrays["scale_factor"].tolist() == [[1.0, 1.0]]
    assert arrays["ids"].dtype == np.int64 and not arrays["ids"].any()
    image = arrays["image"]
    assert image.dtype == np.float32 and image.shape == (1, 3, 32, 48)
    assert 0.0 <= image.min() and image.max() < 1.0 and image.std() > 0.1
    assert np.array_equal(image, check.make_inputs(specs)["image"]), "the same seed gives the same input"


# ---------------------------------------------------------------- runtimes, staging, the reference
def state(ws: Workspace, rt: str, st: str, backend: str = "venv", version: str = "", reason: str = "") -> None:
    fingerprint = {"paddle_version": version} if version else None
    write_json_atomic(
        ws.state_file(rt), {"id": rt, "state": st, "backend": backend, "reason": reason, "fingerprint": fingerprint}
    )


def test_only_runtimes_ready_for_the_backend_are_used_oldest_first(tmp_path: Path) -> None:
    matrix, ws = load_matrix(SMALL), Workspace(tmp_path)
    state(ws, "cpu-3.3.1", "ready", version="3.3.1")
    state(ws, "cpu-2.6.2", "ready", version="2.6.2")
    state(ws, "cpu-2.5", "unavailable", reason="index unreachable\nmore")
    state(ws, "gpu-2.6.2", "ready", backend="docker", version="2.6.2")
    used, unused = check.ready_runtimes(matrix, ws, "venv", explicit=False)
    assert [rt.id for rt in used] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert check.unused_line(unused) == "cpu-2.5 unavailable; gpu-2.6.2 other_backend"
    assert check.choose_backend("auto", matrix, ws) == "venv"
    with pytest.raises(CheckError, match="asked for runtimes that are not ready here"):
        check.ready_runtimes(matrix, ws, "venv", explicit=True)


def test_no_ready_runtime_points_at_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(CheckError) as err:
        check.ready_runtimes(load_matrix(SMALL), Workspace(tmp_path), "venv", explicit=False)
    assert f"no runtime is built in {tmp_path} for the venv backend" in str(err.value)
    assert "python -m harness build ID --backend venv" in str(err.value) and "nox -s matrix" in str(err.value)


def test_the_staged_copy_looks_like_a_harness_export(tmp_path: Path) -> None:
    src = model_dir(tmp_path / "user" / "yolo", "inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info")
    (src / "infer_cfg.yml").write_text("Preprocess: []\n")
    model = check.resolve_model(src)
    staged = tmp_path / "work" / "checks" / model.name
    check.stage(model, staged)
    record = check.write_export_record(staged, model, "2.6.2")
    assert sorted(p.name for p in staged.iterdir()) == [
        "export.json",
        "infer_cfg.yml",
        "model.pdiparams",
        "model.pdiparams.info",
        "model.pdmodel",
    ]
    assert (record["status"], record["program_file"], record["program_format"]) == ("ok", "model.pdmodel", "legacy")
    task = runner.task_for(staged, Loader("predictor", "predictor"), "t")
    assert (task["program"], task["params"], task["prefix"]) == (
        str(staged / "model.pdmodel"),
        str(staged / "model.pdiparams"),
        str(staged / "model"),
    )
    with pytest.raises(CheckError, match="is inside the staging directory"):
        check.stage(check.resolve_model(staged), staged)


LOADERS = {"predictor": {"api": "predictor"}, "jit_load": {"api": "jit_load"}}


def ran(consumer: str, loader: str, ok: bool) -> Ran:
    key = CellKey("check:m", "m", "legacy", consumer, loader)
    reply = {"ok": ok, "stage": None if ok else "load", "outputs": [], "error": "" if ok else "ValueError: no"}
    task = {"id": key.slug, "loader": {"id": loader, **LOADERS[loader], "onednn": "default", "ir_optim": "default"}}
    return Ran(key, task, Outcome("done", reply=reply), "reproduce")


NEWEST_FIRST = [Runtime("cpu-3.3.1", "3.3.1"), Runtime("cpu-3.0.0", "3.0.0"), Runtime("cpu-2.6.2", "2.6.2")]
VERSIONS = {"cpu-3.3.1": "3.3.1", "cpu-3.0.0": "3.0.0", "cpu-2.6.2": "2.6.2"}


def test_the_reference_is_the_newest_runtime_whose_predictor_ran() -> None:
    cells = [ran("cpu-3.3.1", "predictor", False), ran("cpu-3.3.1", "jit_load", False)]
    cells += [
        ran("cpu-3.0.0", "jit_load", True),
        ran("cpu-3.0.0", "predictor", True),
        ran("cpu-2.6.2", "predictor", True),
    ]
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "", None)
    assert chosen is not None and (chosen.key.consumer, chosen.key.loader) == ("cpu-3.0.0", "predictor")
    assert why == "cpu-3.0.0: the newest runtime that runs the model"


def test_the_runtime_that_wrote_the_program_comes_before_the_newest() -> None:
    cells = [ran("cpu-3.3.1", "predictor", True), ran("cpu-2.6.2", "predictor", True)]
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-2.6.2"
    assert why == "cpu-2.6.2: the program was written by Paddle 2.6.2"


def test_a_named_reference_runtime_wins_unless_it_did_not_run() -> None:
    cells = [
        ran("cpu-3.3.1", "predictor", True),
        ran("cpu-3.0.0", "predictor", True),
        ran("cpu-2.6.2", "predictor", False),
    ]
    chosen, _ = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "cpu-3.0.0", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-3.0.0"
    chosen, why = check.choose_reference(cells, NEWEST_FIRST, VERSIONS, "cpu-2.6.2", "2.6.2")
    assert chosen is not None and chosen.key.consumer == "cpu-3.3.1"
    assert why.startswith("--reference-runtime cpu-2.6.2 did not run the model; cpu-3.3.1")


def test_no_reference_when_nothing_ran() -> None:
    chosen, why = check.choose_reference([ran("cpu-3.3.1", "predictor", False)], NEWEST_FIRST, VERSIONS, "", None)
    assert chosen is None and why.startswith("none: the model ran in no runtime")


def result(consumer: str, loader: str, status: Status, error: str = "", **details: Any) -> Result:
    key = CellKey("check:m", "m", "legacy", consumer, loader)
    return Result.for_cell(
        key, status, error=error, max_abs_diff=0.0 if status is Status.PASS else None, details=details
    )


def test_one_summary_line_per_runtime() -> None:
    line = check.runtime_line(
        "cpu-3.3.1", [result("cpu-3.3.1", "predictor", Status.PASS), result("cpu-3.3.1", "jit_load", Status.PASS)]
    )
    assert line == "cpu-3.3.1: loads and runs (predictor, jit_load pass)"
    failed = [
        result("cpu-2.6.2", "predictor", Status.LOAD_FAILED, "RuntimeError: (NotFound) no such op"),
        result("cpu-2.6.2", "jit_load", Status.CRASH, "the loading process died by SIGSEGV"),
    ]
    assert check.runtime_line("cpu-2.6.2", failed) == (
        "cpu-2.6.2: load_failed: RuntimeError: (NotFound) no such op (other loaders: crash)"
    )
    mixed = [
        result("cpu-3.0.0", "predictor", Status.PASS, reference=True),
        result("cpu-3.0.0", "jit_load", Status.LOAD_FAILED, "ValueError: no .json"),
    ]
    assert check.runtime_line("cpu-3.0.0", mixed) == (
        "cpu-3.0.0 [reference]: loads and runs (predictor pass; jit_load load_failed: ValueError: no .json)"
    )


def test_the_results_have_the_report_keys_and_render_as_one_row(tmp_path: Path) -> None:
    matrix, ws = load_matrix(SMALL), Workspace(tmp_path / "work")
    state(ws, "cpu-2.6.2", "ready", version="2.6.2")
    state(ws, "cpu-3.3.1", "ready", version="3.3.1")
    runtimes = [matrix.runtime("cpu-2.6.2"), matrix.runtime("cpu-3.3.1")]
    cells = [
        result(rt.id, ld.id, Status.PASS if rt.id == "cpu-3.3.1" else Status.LOAD_FAILED, reference_runtime="cpu-3.3.1")
        for rt in runtimes
        for ld in matrix.loaders
    ]
    export = {"producer": "check:m", "model": "m", "export": "legacy", "status": "ok", "program_format": "legacy"}
    info = {
        "path": "/x",
        "name": "m",
        "program_format": "legacy",
        "inputs": [],
        "reference_reason": "cpu-3.3.1: newest",
    }
    results = check.results_dict(matrix, ws, runtimes, cells, export, info, "venv")
    assert set(results) - {"check"} == set(report.collect(matrix, ws))
    assert results["models"] == ["m"] and [e["id"] for e in results["export_modes"]] == ["legacy"]
    assert [r["id"] for r in results["runtimes"]] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert results["compat_ranges"][0]["loads_in"] == ["cpu-3.3.1"]
    assert {(c["producer"], c["model"], c["export"]) for c in results["cells"]} == {("check:m", "m", "legacy")}
    out = tmp_path / "reports"
    check.write_outputs(results, out, ["cpu-3.3.1: loads and runs (predictor pass)"])
    assert json.loads((out / "results.json").read_text())["check"]["name"] == "m"
    assert "check:m" in (out / "index.html").read_text()
    assert 'tests="6"' in (out / "junit.xml").read_text()
    assert "- cpu-3.3.1: loads and runs (predictor pass)" in (out / "summary.md").read_text()


# ---------------------------------------------------------------- the command line
def test_the_check_command_parses_repeated_inputs() -> None:
    args = cli.parser().parse_args(
        ["check", "out/m", "--input", "image:1,3,64,64:float32", "--input", "im_shape:1,2", "--runtimes", "a,b"]
    )
    opts = check.CheckOptions.from_args(args)
    assert (opts.path, opts.inputs, opts.runtimes, opts.reports) == (
        "out/m",
        ("image:1,3,64,64:float32", "im_shape:1,2"),
        "a,b",
        "",
    )


def test_a_directory_with_no_model_is_one_message_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main(["check", str(empty), "--matrix", str(SMALL), "--work", str(tmp_path / "w"), "--backend", "venv"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: no exported model in {empty}") and "Traceback" not in err
