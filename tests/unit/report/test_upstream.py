"""The upstream report: Markdown for a Paddle issue whose script needs only numpy and paddle.
The script runs here against a stand-in `paddle` package (the runtime tier runs it against
real Paddle); what it must say is checked on its text."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.document.cell import CellKey, Result, Stage, Status
from harness.document.results import ExportEntry, Fingerprint, LoaderEntry, RuntimeEntry
from harness.report.upstream import config_calls, fence, repro_script, upstream_report
from harness.store.state import RuntimeState

CONSUMER = RuntimeEntry(
    "cpu-2.6.2",
    "2.6.2",
    RuntimeState.READY,
    python="3.11",
    fingerprint=Fingerprint(
        python="3.11.7",
        platform="Linux-6.1.0-x86_64-with-glibc2.36",
        paddle_version="2.6.2",
        paddle_commit="7a1b2c3d4e5f",
        numpy="1.26.4",
        packages=["numpy==1.26.4", "paddlepaddle==2.6.2"],
    ),
)
PRODUCER = RuntimeEntry("cpu-3.3.1", "3.3.1", RuntimeState.READY, fingerprint=Fingerprint(paddle_version="3.3.1"))
EXPORT = ExportEntry(
    "cpu-3.3.1", "m", "fullgraph_on-pir", "ok", program_format="pir", program_file="model.json",
    files={"model.json": 10, "model.pdiparams": 20}, to_static_kwargs={"full_graph": True}, pir_api=True,
)  # fmt: skip
NO_ONEDNN = LoaderEntry("predictor-no-onednn", "predictor", onednn="off", ir_optim="off")
JIT = LoaderEntry("jit_load", "jit_load")


def failing(loader: str = "jit_load", status: Status = Status.LOAD_FAILED, **kw: Any) -> Result:
    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-pir", "cpu-2.6.2", loader)
    return Result.for_cell(key, status, **{"stage": Stage.LOAD, "error": "ValueError: no ``path``", **kw})


def python_block(markdown: str) -> str:
    found = re.search(r"^(`{3,})python\n(.*?)\n\1$", markdown, re.S | re.M)
    assert found, markdown
    return found.group(2)


def test_the_report_has_title_error_script_environment_export_and_log() -> None:
    cell = failing(log="Traceback (most recent call last):\n  ...\nValueError: no ``path``")
    md = upstream_report(cell, consumer=CONSUMER, producer=PRODUCER, loader=JIT, export=EXPORT)
    assert md.startswith(
        "### `paddle.jit.load` in Paddle 2.6.2 cannot load a model exported by Paddle 3.3.1 (pir program)"
    )
    assert "```text\nValueError: no ``path``\n```" in md  # verbatim, fenced
    assert "- Paddle 2.6.2 (commit `7a1b2c3d4e5f`), wheel `paddlepaddle==2.6.2`" in md
    assert "- Python 3.11.7, numpy 1.26.4" in md and "- OS Linux-6.1.0-x86_64-with-glibc2.36" in md
    assert '`paddle.jit.to_static(model, input_spec=..., **{"full_graph": true})`' in md
    assert "`FLAGS_enable_pir_api=1`" in md and "<summary>Full log</summary>" in md
    script = python_block(md)
    assert 'paddle.jit.load(os.path.join(HERE, "model"))' in script and "inference" not in script


def test_the_script_uses_only_numpy_and_paddle_and_reads_as_python_3_7() -> None:
    script = repro_script(NO_ONEDNN, "model.pdmodel", 'a title with """ quotes')
    tree = ast.parse(script, feature_version=(3, 7))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"os", "numpy", "paddle"}
    assert "config.disable_mkldnn()\nconfig.switch_ir_optim(False)\n" in script and '"model.pdmodel"' in script
    assert "harness" not in script and "/work" not in script


@pytest.mark.parametrize(
    ("onednn", "ir_optim", "calls"),
    [
        ("default", "default", []),
        ("off", "default", ["disable_mkldnn()"]),
        ("on", "on", ["enable_mkldnn()", "switch_ir_optim(True)"]),
    ],
)
def test_config_calls_are_the_workers(onednn: str, ir_optim: str, calls: list[str]) -> None:
    assert config_calls(LoaderEntry("x", "predictor", onednn, ir_optim)) == calls


def test_a_fence_is_longer_than_any_backticks_inside() -> None:
    assert fence("a ```` b") == "`````text\na ```` b\n`````"


def test_a_crash_says_which_signal_and_a_missing_runtime_still_gives_a_report() -> None:
    cell = failing("predictor", Status.CRASH, details={"signal": "SIGSEGV"})
    md = upstream_report(cell, consumer=None, producer=None, loader=None, export=None)
    assert "dies by SIGSEGV loading a model exported by Paddle cpu-3.3.1" in md
    assert 'config = inference.Config(os.path.join(HERE, "model.json")' in python_block(md)


def test_an_export_failure_names_the_export_call_and_how_to_redo_it() -> None:
    cell = failing(
        "predictor", Status.EXPORT_FAILED, stage=Stage.EXPORT, error="RuntimeError: Can't call main_program",
        details={"export_to_static_kwargs": {"full_graph": False}},
    )  # fmt: skip
    md = upstream_report(cell, consumer=CONSUMER, producer=PRODUCER, loader=None, export=None)
    assert md.startswith('### Exporting with `paddle.jit.to_static(model, input_spec=..., **{"full_graph": false})`')
    assert "fails in Paddle 3.3.1" in md and "```python" not in md
    assert "nox -s repro -- cpu-3.3.1 cpu-2.6.2 --model m --export fullgraph_on-pir" in md


FAKE_PADDLE = """
import numpy as np
__version__ = "0.0.0-fake"
class version:
    commit = "fake"
class _Handle:
    def __init__(self, store, name): self.store, self.name = store, name
    def reshape(self, shape): pass
    def copy_from_cpu(self, array): self.store[self.name] = array
    def copy_to_cpu(self): return self.store["image"][0, :2] + 0.5
class _Predictor:
    def __init__(self): self.store = {}
    def get_input_names(self): return ["image"]
    def get_input_handle(self, name): return _Handle(self.store, name)
    def run(self): pass
    def get_output_names(self): return ["out"]
    def get_output_handle(self, name): return _Handle(self.store, name)
class inference:
    class Config:
        def __init__(self, program, params): assert program.endswith("model.json"), program
        def disable_mkldnn(self): pass
        def switch_ir_optim(self, on): pass
    create_predictor = staticmethod(lambda config: _Predictor())
"""


def test_the_script_runs_the_input_and_prints_the_difference_from_the_reference(tmp_path: Path) -> None:
    """With a stand-in paddle whose outputs are the reference plus 0.5, in a clean directory."""
    (tmp_path / "fake" / "paddle").mkdir(parents=True)
    (tmp_path / "fake" / "paddle" / "__init__.py").write_text(FAKE_PADDLE)
    here = tmp_path / "issue"
    here.mkdir()
    image = np.arange(6, dtype="float32").reshape(1, 6)
    np.savez(here / "input.npz", image=image, **{"image@1": image * 2})
    np.savez(here / "reference.npz", output_0=image[0, :2], **{"output_0@1": image[0, :2] * 2})
    md = upstream_report(
        failing("predictor-no-onednn"), consumer=CONSUMER, producer=PRODUCER, loader=NO_ONEDNN, export=EXPORT
    )
    (here / "repro.py").write_text(python_block(md))
    env = {"PYTHONPATH": str(tmp_path / "fake"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "repro.py"], cwd=here, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "output_0 float32 [2]\n  max abs diff from reference.npz: 0.5" in proc.stdout
    assert "output_0@1 float32 [2]" in proc.stdout  # scene 1 ran too
    assert proc.stdout.rstrip().endswith("max abs diff from reference.npz over all outputs: 0.5")


def test_an_accuracy_drop_names_the_maps_and_its_script_turns_on_onednn_int8() -> None:
    int8 = LoaderEntry("predictor-onednn-int8", "predictor", onednn="int8", precision="int8")
    found = {"map50": 0.0, "map": 0.0, "reference_map50": 0.292, "reference_map": 0.09, "chance_map50": 0.001}
    cell = failing(
        "predictor-onednn-int8",
        Status.ACCURACY_DROP,
        stage=Stage.ACCURACY,
        error="mAP@0.5 0.000 on the evaluation set is 0.292 below the FP32 reference's 0.292",
        details={"accuracy": found},
    )
    md = upstream_report(cell, consumer=CONSUMER, producer=PRODUCER, loader=int8, export=EXPORT)
    assert "loses detection accuracy (mAP) on a model exported by Paddle 3.3.1" in md
    assert "mAP@0.5 on the harness's evaluation set 0.000, the producer's FP32 reference 0.292, chance 0.001" in md
    assert "`eval.npz`, `reference_eval.npz`" in md
    script = python_block(md)
    assert "config.enable_mkldnn()\nconfig.enable_mkldnn_int8()\n" in script and "reference_eval.npz" in script
    assert config_calls(LoaderEntry("trt", "predictor", device="gpu", tensorrt="int8"))[0] == "enable_use_gpu(256, 0)"
