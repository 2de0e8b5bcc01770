"""Where every phase reads and writes: the work directory's layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """The on-disk data flow; every phase reads and writes only here, so any phase can
    run on another machine given these directories."""

    root: Path

    def runtime_dir(self, rt_id: str) -> Path:
        return self.root / "runtimes" / rt_id

    def state_file(self, rt_id: str) -> Path:
        return self.runtime_dir(rt_id) / "state.json"

    def model_dir(self, producer: str, model: str) -> Path:
        return self.root / "exports" / producer / model

    def export_dir(self, producer: str, model: str, mode: str) -> Path:
        return self.model_dir(producer, model) / mode

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    def results_file(self, consumer: str) -> Path:
        return self.results_dir / f"{consumer}.jsonl"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def artifacts_dir(self, consumer: str) -> Path:
        """What a deployment consumer's tool converted (model.nb, model.onnx), and its logs."""
        return self.root / "artifacts" / consumer

    def artifact_dir(self, consumer: str, producer: str, model: str, mode: str, loader: str) -> Path:
        return self.artifacts_dir(consumer) / producer / model / mode / loader
