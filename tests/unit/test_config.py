from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import load_matrix, parse_matrix
from harness.errors import ConfigError
from tests.unit.helpers import problems_of

ROOT = Path(__file__).parents[2]
MINIMAL = """
runtimes: [{id: a, version: "2.6.2"}]
models: [{id: ppyoloe_tiny}]
export_modes: [{id: e, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
"""


def test_default_matrix_declares_every_version_the_product_promises() -> None:
    matrix = load_matrix(ROOT / "matrix.yaml")
    cpu = {rt.version for rt in matrix.runtimes if rt.device == "cpu"}
    assert {"2.3.2", "2.4.2", "2.5.2", "2.6.2", "3.0.0", "3.1.1", "3.2.2", "3.3.1"} <= cpu
    assert any(rt.device == "gpu" for rt in matrix.runtimes)
    old = [rt for rt in matrix.runtimes if rt.version < "2.6"]
    # Paddle <= 2.5 gives wrong tensors with numpy 2: every old runtime pins numpy below 2.
    assert old and all(any(p in ("numpy<2", "numpy<1.24") for p in rt.pins) for rt in old)
    # The CPU rows try Paddle's own index first, then PyPI's GPU wheel of the same version.
    for rt in (r for r in old if r.device == "cpu"):
        first, *rest = rt.candidates
        assert first.index_url.startswith("https://www.paddlepaddle.org.cn") and first.package == "paddlepaddle"
        assert [c.package for c in rest] == ["paddlepaddle-gpu"], rt.id


def test_minimal_matrix_gets_defaults() -> None:
    matrix = parse_matrix(MINIMAL)
    assert matrix.runtimes[0].package == "paddlepaddle" and matrix.runtimes[0].python == "3.11"
    assert matrix.loaders[0].onednn == "default"
    assert matrix.timeouts.cell_s > 0


def test_unknown_key_names_the_key_and_suggests_the_near_miss() -> None:
    found = problems_of(MINIMAL.replace('version: "2.6.2"', 'version: "2.6.2", pyhton: "3.9"'))
    assert found == ["runtimes[0]: unknown key 'pyhton'. Perhaps you meant 'python'?"]


def test_all_problems_are_collected_at_once() -> None:
    text = (
        MINIMAL.replace('"2.6.2"', '"2.6"')
        .replace("api: predictor", "api: onnx")
        .replace("full_graph: true", "full_graph: yes please")
    )
    found = problems_of(text)
    assert len(found) == 3
    assert any("export_modes[0].full_graph: must be bool" in p for p in found)
    assert any("loaders[0].api: must be one of predictor, jit_load" in p for p in found)
    assert any("version: '2.6' is not an exact version" in p for p in found)


def test_duplicate_ids_missing_keys_and_wrong_types() -> None:
    text = MINIMAL.replace('runtimes: [{id: a, version: "2.6.2"}]', 'runtimes: [{id: a, version: "2.6.2"}, {id: a}]')
    found = problems_of(text)
    assert "runtimes[1].id: duplicate id 'a'" in found
    assert "runtimes[1].version: required key is missing" in found
    assert problems_of(MINIMAL + "timeouts: {cell_s: soon}\n") == ["timeouts.cell_s: must be float, got str 'soon'"]


def test_bare_yaml_off_means_the_word() -> None:
    matrix = parse_matrix(MINIMAL.replace("api: predictor", "api: predictor, onednn: off"))
    assert matrix.loaders[0].onednn == "off"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("runtimes: [", "not valid YAML"),
        ("- just a list", "top level must be a mapping"),
        (MINIMAL + "extra: 1\n", "top level: unknown key 'extra'"),
        (MINIMAL.replace('version: "2.6.2"', 'version: "2.6.2", device: tpu'), "device: must be one of cpu, gpu"),
        (MINIMAL.replace('version: "2.6.2"', 'version: "2.6.2", device: gpu'), "a gpu runtime needs paddlepaddle-gpu"),
        (MINIMAL.replace('version: "2.6.2"', 'version: "2.6.2", python: 3.10'), "python: must be str"),
        (MINIMAL.replace("models: [{id: ppyoloe_tiny}]", "models: []"), "models: must be a non-empty list"),
        (MINIMAL + "retries: -1\n", "retries: must be a whole number from 0 to 5"),
        (MINIMAL + "expectations: [{reason: r, expires: soon}]\n", "expectations[0].expires: 'soon' must be a date"),
    ],
)
def test_bad_input_is_one_clear_message(text: str, fragment: str) -> None:
    assert any(fragment in p for p in problems_of(text)), problems_of(text)


def test_select_unknown_runtime_suggests() -> None:
    matrix = load_matrix(ROOT / "matrix.yaml")
    with pytest.raises(ConfigError, match="Perhaps you meant 'cpu-3.3.1'"):
        matrix.select(["cpu-3.3.2"])
    assert [rt.id for rt in matrix.select(["cpu-3.3.1", "cpu-2.6.2"]).runtimes] == ["cpu-2.6.2", "cpu-3.3.1"]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_matrix(tmp_path / "nope.yaml")
