"""A model's `requires` (the ppdet family): declared in matrix.yaml, installed next to a
runtime once, reused until the runtime or the requires change, and failures in the
installer's own words. No processes: the backend records the installs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.matrix import Model, Runtime, load_matrix, parse_matrix
from harness.phases.context import RunContext
from harness.phases.extras import Extras, installer_error, model_extras
from harness.runtimes.seam import Completed
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from tests.unit.fakes import RecordingBackend
from tests.unit.helpers import problems_of
from tests.unit.phases.helpers import REQUIRES_MATRIX, ready_workspace

ROOT = Path(__file__).parents[3]
RT = Runtime(id="cpu-2.6.2", version="2.6.2", python="3.11")
PPDET = Model(id="ppdet_ppyoloe", family="ppdet", train_steps=3, requires=("paddledet==2.6.0", "setuptools==80.10.2"))
TINY = Model(id="ppyoloe_tiny", train_steps=3)
MATRIX = REQUIRES_MATRIX


# ---------------------------------------------------------------- matrix.yaml
def test_models_are_tiny_without_requires_unless_they_say_otherwise() -> None:
    tiny, ppdet = parse_matrix(MATRIX).models
    assert (tiny.family, tiny.requires) == ("tiny", ())
    assert (ppdet.family, ppdet.requires) == ("ppdet", ("paddledet==2.6.0", "setuptools==80.10.2"))


def test_family_and_requires_mistakes_are_collected_naming_the_key() -> None:
    text = MATRIX.replace("family: ppdet", "family: paddledet").replace("{id: ppyoloe_tiny}", "{id: a, requires: x}")
    assert problems_of(text) == [
        "models[0].requires: must be a list of strings, got 'x'",
        "models[1].family: must be one of tiny, ppdet, control, got 'paddledet'",
    ]


def test_requires_entries_must_be_single_requirements_not_installer_options() -> None:
    text = MATRIX.replace('"setuptools==80.10.2"', '"--index-url https://evil.example/simple", "a\\nb", " "')
    assert problems_of(text) == [
        "models[ppdet_ppyoloe].requires[1]: '--index-url https://evil.example/simple' is an installer option, "
        "not a requirement like 'paddledet==2.6.0'",
        "models[ppdet_ppyoloe].requires[2]: 'a\\nb' must be one requirement on one line, like 'paddledet==2.6.0'",
        "models[ppdet_ppyoloe].requires[3]: ' ' must be one requirement on one line, like 'paddledet==2.6.0'",
    ]


def test_default_matrix_has_the_ppdet_models_with_complete_pins() -> None:
    found = [m for m in load_matrix(ROOT / "matrix.yaml").models if m.family == "ppdet"]
    assert [m.id for m in found] == ["ppdet_ppyoloe", "ppdet_dino"]
    for ppdet in found:
        assert ppdet.train_steps > 0 and ppdet.requires == found[0].requires
        assert "paddledet==2.6.0" in ppdet.requires and "setuptools==80.10.2" in ppdet.requires
        assert all("==" in req for req in ppdet.requires), "--no-deps: every requirement is pinned exactly"


def test_the_ppdet_test_matrix_installs_what_the_default_matrix_does() -> None:
    """The pins live in matrix.yaml; the runtime tier's copy must not drift from them."""
    default = {m.id: m for m in load_matrix(ROOT / "matrix.yaml").models}
    for name in ("matrix-ppdet.yaml", "matrix-ppdet-detr.yaml"):
        [tested] = load_matrix(ROOT / "tests" / "data" / name).models
        assert tested.requires == default[tested.id].requires and tested.family == "ppdet"
        assert tested.train_steps == default[tested.id].train_steps


def test_the_small_matrix_of_the_runtime_tier_stays_tiny() -> None:
    small = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")
    assert {(m.family, m.requires) for m in small.models} == {("tiny", ())}


# ---------------------------------------------------------------- installing them
@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return ready_workspace(tmp_path)


def test_an_install_is_reused_until_the_runtime_or_the_requires_change(ws: Workspace) -> None:
    backend = RecordingBackend()
    ctx = RunContext(parse_matrix(MATRIX), backend, ws)  # type: ignore[arg-type]
    first = model_extras(ctx, RT, PPDET)
    assert model_extras(ctx, RT, PPDET) == first and len(backend.installs) == 1
    other = Model(id=PPDET.id, family="ppdet", requires=("paddledet==2.5.0",))
    assert model_extras(ctx, RT, other).site != first.site
    write_json_atomic(ws.state_file("cpu-2.6.2"), {"id": "cpu-2.6.2", "state": "ready", "fingerprint": {"p": 2}})
    assert model_extras(ctx, RT, PPDET).site != first.site and len(backend.installs) == 3
    assert model_extras(ctx, RT, TINY) == Extras() and len(backend.installs) == 3


def test_a_failed_install_is_tried_once_per_run_and_again_in_the_next(ws: Workspace) -> None:
    backend = RecordingBackend(install=Completed(("/bin/uv", "pip", "install"), 1, "", "error: no network\n"))
    matrix = parse_matrix(MATRIX)
    ctx = RunContext(matrix, backend, ws)  # type: ignore[arg-type]
    failed = model_extras(ctx, RT, PPDET)
    assert failed.error.endswith("error: no network") and model_extras(ctx, RT, PPDET) == failed
    assert len(backend.installs) == 1 and failed.env() == {}
    model_extras(RunContext(matrix, backend, ws), RT, PPDET)  # type: ignore[arg-type]
    assert len(backend.installs) == 2, "the next run tries the install again"


def test_installer_errors_keep_pips_words_too() -> None:
    pip = "Collecting x\nERROR: Could not find a version that satisfies the requirement paddledet==9 (from versions: none)\n"
    assert installer_error(pip).startswith("ERROR: Could not find a version that satisfies")
    assert installer_error("\n  something odd\n") == "something odd"
    assert installer_error("") == "the installer failed without a word"


def test_the_precision_test_matrix_installs_paddleslim_as_the_default_matrix_does() -> None:
    default = {m.id: m for m in load_matrix(ROOT / "matrix.yaml").export_modes}
    tested = {m.id: m for m in load_matrix(ROOT / "tests" / "data" / "matrix-precision.yaml").export_modes}
    slim = tested["fullgraph_on-legacy-int8-slim"]
    assert slim == default[slim.id] and slim.quantizer == "paddleslim" and "paddleslim==2.6.0" in slim.requires
    assert not any(req.startswith("numpy") for req in slim.requires), "the runtime's numpy must stay the one used"
