"""A runtime entry says which wheel really runs and what its image cost."""

from __future__ import annotations

from harness.document.runtimes import Fingerprint, RuntimeEntry
from harness.report.html_sections import image_line
from harness.store.state import RuntimeState


def entry(**kw: object) -> RuntimeEntry:
    return RuntimeEntry(id="cpu-2.3", version="2.3.2", state=RuntimeState.READY, **kw)  # type: ignore[arg-type]


def test_the_wheel_is_what_the_runtime_reported_not_what_was_declared_first() -> None:
    gpu_on_cpu = Fingerprint(packages=["numpy==1.23.5", "paddlepaddle-gpu==2.3.2"], capabilities={"compiled_with_cuda": True})
    assert entry(fingerprint=gpu_on_cpu).wheel == "paddlepaddle-gpu==2.3.2 on CPU"
    cpu = Fingerprint(packages=["paddlepaddle==2.3.2"], capabilities={"compiled_with_cuda": False})
    assert entry(fingerprint=cpu).wheel == "paddlepaddle==2.3.2"
    assert entry().wheel == "paddlepaddle==2.3.2"  # never ran: the declaration


def test_image_size_and_build_time_are_shown_and_round_trip() -> None:
    built = entry(image_size=2_072_000_000, image_build_s=95.4)
    assert image_line(built) == "2072 MB image, built in 95 s"
    assert image_line(entry()) == ""
    data = built.to_json()
    assert (data["image_size"], data["image_build_s"]) == (2_072_000_000, 95.4)
    assert "image_size" not in entry().to_json()
