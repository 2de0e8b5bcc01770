"""check: the fixed input, from --input, the program, or PaddleDetection's infer_cfg.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.tools.check import inputs as check
from harness.tools.check.inputs import ImageSize, InputSpec
from harness.tools.check.model import CheckError

ROOT = Path(__file__).parents[4]
CFG = ROOT / "tests" / "data" / "check"


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
