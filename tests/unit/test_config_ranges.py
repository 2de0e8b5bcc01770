"""Numbers within their ranges, calendar dates, and an explicit empty runtime list."""

from __future__ import annotations

import pytest

from harness.config.matrix import parse_matrix, parse_runtime_list
from harness.errors import ConfigError
from tests.unit.helpers import problems_of

MINIMAL = """
runtimes: [{id: a, version: "2.6.2"}, {id: b, version: "3.3.1"}]
models: [{id: ppyoloe_tiny}]
export_modes: [{id: e, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
"""


def with_model(fields: str) -> str:
    return MINIMAL.replace("models: [{id: ppyoloe_tiny}]", f"models: [{{id: ppyoloe_tiny, {fields}}}]")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (with_model("train_steps: 0"), "models[0].train_steps: must be >= 1, got 0"),
        (with_model("train_steps: -3"), "models[0].train_steps: must be >= 1, got -3"),
        (with_model("train_steps: 2.5"), "models[0].train_steps: must be int, got float 2.5"),
        (with_model("train_steps: true"), "models[0].train_steps: must be int, got bool True"),
        (with_model("seed: -1"), "models[0].seed: must be >= 0, got -1"),
        (MINIMAL + "timeouts: {cell_s: 0}\n", "timeouts.cell_s: must be a finite number of seconds > 0, got 0.0"),
        (MINIMAL + "timeouts: {build_s: -5}\n", "timeouts.build_s: must be a finite number of seconds > 0, got -5.0"),
        (
            MINIMAL + "timeouts: {export_s: .inf}\n",
            "timeouts.export_s: must be a finite number of seconds > 0, got inf",
        ),
        (
            MINIMAL + "timeouts: {worker_start_s: .nan}\n",
            "timeouts.worker_start_s: must be a finite number of seconds > 0, got nan",
        ),
        (MINIMAL + "tolerances: {score_atol: -0.001}\n", "tolerances.score_atol: must be >= 0, got -0.001"),
        (MINIMAL + "tolerances: {box_atol: .nan}\n", "tolerances.box_atol: must be a finite number >= 0, got nan"),
        (MINIMAL + "tolerances: {array_rtol: .inf}\n", "tolerances.array_rtol: must be a finite number >= 0, got inf"),
        (
            MINIMAL + "tolerances: {array_atol: -.inf}\n",
            "tolerances.array_atol: must be a finite number >= 0, got -inf",
        ),
        (MINIMAL + "tolerances: {iou_min: 0}\n", "tolerances.iou_min: must be > 0 and <= 1, got 0.0"),
        (MINIMAL + "tolerances: {iou_min: 1.5}\n", "tolerances.iou_min: must be > 0 and <= 1, got 1.5"),
        (MINIMAL + "tolerances: {iou_min: .nan}\n", "tolerances.iou_min: must be > 0 and <= 1, got nan"),
    ],
)
def test_numbers_out_of_range_name_the_key(text: str, problem: str) -> None:
    assert problems_of(text) == [problem]


def test_numbers_at_the_edges_of_their_ranges_load() -> None:
    text = with_model("train_steps: 1, seed: 0") + (
        "timeouts: {cell_s: 0.5, build_s: 1}\n"
        "tolerances: {score_atol: 0, box_atol: 0.0, iou_min: 1, array_atol: 0, array_rtol: 0}\n"
    )
    matrix = parse_matrix(text)
    assert matrix.models[0].train_steps == 1 and matrix.models[0].seed == 0
    assert matrix.tolerances.iou_min == 1.0 and matrix.timeouts.cell_s == 0.5


def test_every_range_problem_is_reported_at_once() -> None:
    text = with_model("train_steps: 0, seed: -1") + (
        "timeouts: {cell_s: -1, export_s: 0}\ntolerances: {score_atol: -1, iou_min: 2}\nretries: 9\n"
    )
    found = problems_of(text)
    assert len(found) == 7, found
    for key in ("train_steps", "seed", "cell_s", "export_s", "score_atol", "iou_min", "retries"):
        assert any(key in p for p in found), key


# ---------------------------------------------------------------- dates
def expectation(expires: str) -> str:
    return MINIMAL + f"expectations: [{{reason: r}}, {{reason: r, expires: {expires}}}]\n"


@pytest.mark.parametrize("expires", ["2027-02-30", '"2027-02-30"', "'2027-13-01'", "2027-04-31"])
def test_an_impossible_date_is_a_config_error_naming_the_key(expires: str) -> None:
    found = problems_of(expectation(expires))  # unquoted used to raise ValueError out of yaml.safe_load
    assert len(found) == 1 and found[0].startswith("expectations[1].expires: "), found
    assert "is not a calendar date" in found[0]


@pytest.mark.parametrize("expires", ["2027-06-30", '"2027-06-30"', "2028-02-29"])
def test_a_real_date_loads_as_text(expires: str) -> None:
    exp = parse_matrix(expectation(expires)).expectations[1]
    assert exp.expires == expires.strip('"')


@pytest.mark.parametrize("expires", ["2027-06-30 10:00:00", "2027-06-30T10:00:00Z", "2027-6-30"])
def test_a_timestamp_or_short_date_is_not_a_date(expires: str) -> None:
    assert problems_of(expectation(expires)) == [f"expectations[1].expires: {expires!r} must be a date like 2027-06-30"]


def test_a_bad_explicit_tag_is_a_config_error() -> None:
    for bad in ("retries: !!int x\n", "retries: !!float x\n"):
        assert any("not valid YAML" in p for p in problems_of(MINIMAL + bad))


# ---------------------------------------------------------------- runtime selection
def test_select_of_nothing_is_an_error_not_everything() -> None:
    matrix = parse_matrix(MINIMAL)
    with pytest.raises(ConfigError, match="names no runtime") as info:
        matrix.select([])
    assert str(info.value).startswith("--runtimes has 1 problem(s)")


def test_parse_runtime_list() -> None:
    assert parse_runtime_list(None) is None  # flag absent: the whole matrix
    assert parse_runtime_list("cpu-2.6.2,cpu-3.3.1") == ["cpu-2.6.2", "cpu-3.3.1"]
    assert parse_runtime_list(" cpu-3.3.1 , ,cpu-2.6.2,cpu-3.3.1, ") == ["cpu-3.3.1", "cpu-2.6.2"]


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,"])
def test_an_explicit_empty_runtime_list_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_runtime_list(text)
    assert info.value.problems == [
        f"{text!r} names no runtime; give ids like cpu-2.6.2,cpu-3.3.1 or leave the flag out"
    ]
    assert str(info.value).startswith("--runtimes has 1 problem(s)")
    with pytest.raises(ConfigError, match="^--producers has"):
        parse_runtime_list(text, flag="--producers")


# ---------------------------------------------------------------- precision
PRECISION = MINIMAL.replace(
    "export_modes: [{id: e, full_graph: true, program_format: legacy}]",
    "export_modes: [{id: e, full_graph: true, program_format: legacy}, {id: q, full_graph: true, "
    "program_format: legacy, precision: int8}]",
)


def with_loader(fields: str) -> str:
    return PRECISION.replace("loaders: [{id: predictor, api: predictor}]", f"loaders: [{{id: l, api: predictor, {fields}}}]")


def test_precision_modes_and_loaders_load_with_their_precision() -> None:
    matrix = parse_matrix(with_loader("onednn: int8") + "tolerances: {map_drop: 0.1}\n")
    assert [m.precision for m in matrix.export_modes] == ["fp32", "int8"]
    assert matrix.loaders[0].precision == "int8" and matrix.tolerances.map_drop == 0.1
    gpu = parse_matrix(with_loader("device: gpu, tensorrt: int8")).loaders[0]
    assert gpu.precision == "int8" and gpu.device == "gpu"
    assert parse_matrix(with_loader("device: gpu")).loaders[0].precision == "fp32"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (with_loader("tensorrt: int8"), "loaders[l].tensorrt: TensorRT runs on a GPU; add device: gpu"),
        (with_loader("onednn: int4"), "loaders[0].onednn: must be one of default, on, off, int8, got 'int4'"),
        (PRECISION.replace("precision: int8", "precision: int4"), "export_modes[1].precision: must be one of fp32, int8, got 'int4'"),
        (PRECISION + "tolerances: {map_drop: 1.5}\n", "tolerances.map_drop: must be >= 0 and <= 1, got 1.5"),
        (
            PRECISION.replace("precision: int8", "quantizer: paddleslim"),
            "export_modes[q].quantizer: paddleslim quantizes a legacy program to int8; set precision: int8, "
            "program_format: legacy",
        ),
        (
            PRECISION.replace("precision: int8", "precision: int8, requires: [--pre]"),
            "export_modes[q].requires[0]: '--pre' is an installer option, not a requirement like 'paddledet==2.6.0'",
        ),
    ],
)
def test_precision_keys_out_of_range_name_the_key(text: str, problem: str) -> None:
    assert problems_of(text) == [problem]
