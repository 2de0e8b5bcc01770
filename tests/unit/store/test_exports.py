"""An export's record read safely, and its files hashed by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.store.exports import files_sha256, read_export
from harness.store.files import write_json_atomic


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "exports" / "cpu-2.6.2" / "m" / "fullgraph_on-pir"
    out.mkdir(parents=True)
    (out / "model.json").write_text("{}")
    (out / "model.pdiparams").write_bytes(b"weights")
    return out


def test_a_good_record_is_read_as_written(out: Path) -> None:
    write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.json", "key": "k"})
    assert read_export(out) == {"status": "ok", "program_file": "model.json", "key": "k"}
    assert read_export(out.parent / "no-such-mode") is None


@pytest.mark.parametrize("content", [b'{"status": "ok", "prog', b'{"status": "\xff"}', b'{"program_file": "x"}'])
def test_a_corrupt_record_is_absent_moved_aside_and_warned_about(
    out: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    record = out / "export.json"
    record.write_bytes(content)
    assert read_export(out) is None
    [moved] = out.glob("export.json.corrupt-*")
    assert moved.read_bytes() == content and not record.exists()
    warning = capsys.readouterr().err
    assert warning.startswith(f"warning: {record} is unreadable") and moved.name in warning
    assert (out / "model.pdiparams").read_bytes() == b"weights", "the export's files stay"
    assert read_export(out) is None and capsys.readouterr().err == "", "warned once: the file is gone now"


def test_content_hashes_cover_the_files_but_not_the_record(out: Path) -> None:
    write_json_atomic(out / "export.json", {"status": "ok"})
    before = files_sha256(out)
    assert set(before) == {"model.json", "model.pdiparams"}
    write_json_atomic(out / "export.json", {"status": "ok", "command": "changed"})
    assert files_sha256(out) == before
    (out / "model.pdiparams").write_bytes(b"weight")
    assert files_sha256(out)["model.pdiparams"] != before["model.pdiparams"]
    assert files_sha256(out.parent / "missing") == {}
