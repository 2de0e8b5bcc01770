"""check: finding the user's model on disk and staging a copy laid out like the harness's exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config.matrix import Loader
from harness.phases.load import task_for
from harness.tools.check import model as check
from harness.tools.check.model import CheckError


def model_dir(root: Path, *names: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(b"x")
    return root


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
    task = task_for(staged, Loader("predictor", "predictor"), "t")
    assert (task["program"], task["params"], task["prefix"]) == (
        str(staged / "model.pdmodel"),
        str(staged / "model.pdiparams"),
        str(staged / "model"),
    )
    with pytest.raises(CheckError, match="is inside the staging directory"):
        check.stage(check.resolve_model(staged), staged)
