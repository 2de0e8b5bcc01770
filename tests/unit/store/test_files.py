"""Work-directory files: written atomically, read with an error that names the file."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from harness.store.files import CorruptState, digest, move_aside, read_json, read_json_object, write_json_atomic


def test_atomic_json_leaves_no_temp_files(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a" / "x.json", {"k": 1})
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json_atomic(path, {"k": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"k": math.nan})  # strict JSON: never a bare NaN token
    assert read_json(path) == {"k": 1} and [p.name for p in tmp_path.iterdir()] == ["x.json"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"a": "caf\xe9"}', "not UTF-8 text"),
        (b"", "not valid JSON"),
    ],
)
def test_an_unreadable_file_is_corrupt_state_naming_it(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(CorruptState) as info:
        read_json(path)
    assert info.value.message.startswith(f"{path} is unreadable: {why}") and info.value.path == path
    assert f"remove or repair {path}" in str(info.value)


def test_an_object_is_required_where_one_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(CorruptState, match="expected a JSON object, found list"):
        read_json_object(path)


def test_moving_aside_keeps_the_bytes_for_a_person_to_look_at(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff garbage")
    moved = move_aside(path)
    assert not path.exists() and moved.parent == tmp_path
    assert re.fullmatch(r"state\.json\.corrupt-\d{8}T\d{12}Z", moved.name), moved.name
    assert moved.read_bytes() == b"\xff garbage"


def test_digest_is_stable_and_order_sensitive() -> None:
    assert digest({"b": 1, "a": 2}, "x") == digest({"a": 2, "b": 1}, "x")
    assert digest("x", "y") != digest("y", "x") and len(digest("x")) == 16
