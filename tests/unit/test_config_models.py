"""A model's dynamic input size and the floor its reference must clear (matrix.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import ReferenceFloor, load_matrix, parse_matrix
from tests.unit.helpers import problems_of

ROOT = Path(__file__).parents[2]
MINIMAL = """
runtimes: [{id: a, version: "2.6.2"}]
models: [MODEL]
export_modes: [{id: e, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
"""


def with_model(model: str) -> str:
    return MINIMAL.replace("MODEL", model)


def test_defaults_a_static_size_and_the_default_floor() -> None:
    [model] = parse_matrix(with_model("{id: rtdetr_tiny}")).models
    assert model.dynamic_size is False
    assert model.reference_floor == ReferenceFloor(iou=0.5, score=0.3, recall=0.5, margin=1.0)


def test_a_floor_given_in_part_keeps_the_other_defaults() -> None:
    text = with_model("{id: ppyoloe_tiny, dynamic_size: true, reference_floor: {recall: 0.75, margin: 2}}")
    [model] = parse_matrix(text).models
    assert model.dynamic_size is True
    assert model.reference_floor == ReferenceFloor(iou=0.5, score=0.3, recall=0.75, margin=2.0)


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("{id: m, reference_floor: {recall: 1.5}}", "models[0].reference_floor.recall: must be >= 0 and <= 1, got 1.5"),
        ("{id: m, reference_floor: {iou: 0}}", "models[0].reference_floor.iou: must be > 0 and <= 1, got 0.0"),
        ("{id: m, reference_floor: {score: -0.1}}", "models[0].reference_floor.score: must be >= 0 and <= 1, got -0.1"),
        ("{id: m, reference_floor: {margin: -1}}", "models[0].reference_floor.margin: must be >= 0, got -1.0"),
        ("{id: m, reference_floor: {recal: 0.5}}", "models[0].reference_floor: unknown key 'recal'. Perhaps you meant 'recall'?"),
        ("{id: m, reference_floor: 0.5}", "models[0].reference_floor: must be a mapping, got float"),
        ("{id: m, dynamic_size: yes please}", "models[0].dynamic_size: must be bool, got str 'yes please'"),
        (
            "{id: p, family: ppdet, dynamic_size: true}",
            "models[p].dynamic_size: only the tiny family exports with a dynamic input size",
        ),
    ],
)
def test_bad_model_keys_are_named(model: str, problem: str) -> None:
    assert problem in problems_of(with_model(model))


def test_the_default_matrix_judges_one_model_at_two_sizes_and_keeps_rtdetr_static() -> None:
    models = {m.id: m for m in load_matrix(ROOT / "matrix.yaml").models}
    assert models["ppyoloe_tiny"].dynamic_size and not models["rtdetr_tiny"].dynamic_size
    for path in [ROOT / "matrix.yaml", *sorted((ROOT / "tests" / "data").glob("matrix-*.yaml"))]:
        tiny = {m.id: (m.train_steps, m.dynamic_size) for m in load_matrix(path).models if m.family == "tiny"}
        # The steps both tiny models clear their reference floor with in every runtime.
        wanted = {"ppyoloe_tiny": (60, True), "rtdetr_tiny": (160, False)}
        assert tiny == {k: v for k, v in wanted.items() if k in tiny}, path.name
