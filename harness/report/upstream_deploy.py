"""The upstream report of a failing deployment-consumer cell: Markdown for a Paddle-Lite or
paddle2onnx issue. The tool's own command line converts the export's files from their own
directory, and a minimal script using only numpy and the tool's runtime (paddlelite, or
onnxruntime) runs the converted model on input.npz and compares it with reference.npz.
"""

from __future__ import annotations

import shlex

from harness.document.cell import Result, Stage, Status
from harness.document.runtimes import ExportEntry, LoaderEntry, RuntimeEntry
from harness.report.upstream import SCENES, SCRIPT_TAIL, _exported, _version, fence

DEPLOY_HEAD = '''"""{title}

Put this file next to the converted model ({artifact}, made by the command above) and
input.npz, reference.npz; run it with the Python of the environment below:
python repro.py. Needs only numpy and {needs}."""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
'''
LITE = """
from paddlelite.lite import MobileConfig, create_paddle_predictor

config = MobileConfig()
config.set_model_from_file(os.path.join(HERE, "model.nb"))
predictor = create_paddle_predictor(config)
reference_names = [k for k in np.load(os.path.join(HERE, "reference.npz")).files if "@" not in k]


def run(feeds):
    for i, (_, array) in enumerate(feeds):
        tensor = predictor.get_input(i)
        tensor.resize(list(array.shape))
        tensor.set_float_data(np.ascontiguousarray(array, dtype="float32").ravel().tolist())
    predictor.run()
    return [np.array(predictor.get_output(i).numpy()) for i in range(len(reference_names))]

"""
ONNX = """
import onnxruntime

session = onnxruntime.InferenceSession(os.path.join(HERE, "model.onnx"), providers=["CPUExecutionProvider"])


def run(feeds):
    names = [i.name for i in session.get_inputs()]
    by_name = dict(feeds)
    arrays = {n: by_name[n] if n in by_name else feeds[i][1] for i, n in enumerate(names)}  # by name, else position
    return session.run(None, arrays)

"""
ACTIONS = {
    Stage.CONVERT: "cannot convert",
    Stage.LOAD: "converts but cannot load",
    Stage.RUN: "converts and loads but cannot run",
    Stage.COMPARE: "gives different outputs for",
}


def deploy_sections(
    cell: Result,
    consumer: RuntimeEntry | None,
    producer: RuntimeEntry | None,
    loader: LoaderEntry,
    export: ExportEntry | None,
    program: str,
    parts: tuple[str, str, str],
) -> list[str]:
    """The report's sections; ``parts``: the error, the log and the environment, as the
    caller made (and shares) them."""
    what, log, env = parts
    fmt = export.program_format if export and export.program_format else program
    option = f"valid_targets={loader.valid_targets}" if loader.api == "lite" else f"opset {loader.opset}"
    action = ACTIONS.get(cell.stage or Stage.CONVERT, "fails on")
    if cell.status is Status.CRASH:
        stage = cell.stage.value if cell.stage else "?"
        action = f"dies by {cell.details.get('signal') or 'a signal'} in the {stage} of"
    title = (
        f"{_tool(consumer, cell.consumer)} ({option}) {action} a model exported by Paddle "
        f"{_version(producer, cell.producer)} ({fmt} program)"
    )
    steps = _steps(cell, loader, program, title, consumer)
    return [f"### {title}", what, steps, env, _exported(producer, cell.producer, export), log]


def convert_command(loader: LoaderEntry, program: str, paddle2onnx_2: bool) -> str:
    """The tool's own command line, on the export's files in the current directory."""
    if loader.api == "lite":
        argv = ["paddle_lite_opt", f"--model_file={program}", "--param_file=model.pdiparams"]
        argv += [f"--valid_targets={loader.valid_targets}", "--optimize_out_type=naive_buffer", "--optimize_out=model"]
    else:
        argv = ["paddle2onnx", "--model_dir", ".", "--model_filename", program, "--params_filename", "model.pdiparams"]
        argv += ["--save_file", "model.onnx", "--opset_version", str(loader.opset)]
        argv += ["--enable_auto_update_opset", "False", *(["--optimize_tool", "None"] if paddle2onnx_2 else [])]
    return shlex.join(argv)


def _tool(consumer: RuntimeEntry | None, consumer_id: str) -> str:
    """What the tool says it is ("paddlelite 2.10 (opt v2.10)"), else what was pinned."""
    fp = consumer.fingerprint if consumer else None
    said = str(fp.extra.get("tool_version", "")) if fp else ""
    return said or (f"{consumer.package} {consumer.version}" if consumer else consumer_id)


def _steps(cell: Result, loader: LoaderEntry, program: str, title: str, consumer: RuntimeEntry | None) -> str:
    major = (consumer.version.split(".")[0] if consumer else "") or "0"
    command = convert_command(loader, program, major.isdigit() and int(major) >= 2)
    files = ", ".join(f"`{f}`" for f in (program, "model.pdiparams", "input.npz", "reference.npz"))
    text = f"**To reproduce**: next to the exported files ({files}; attached), convert with\n\n{fence(command, 'sh')}"
    if cell.stage is Stage.CONVERT:
        return text
    artifact = "model.nb" if loader.api == "lite" else "model.onnx"
    needs = "paddlelite" if loader.api == "lite" else "onnxruntime"
    head = DEPLOY_HEAD.format(title=title.replace('"""', "'''"), artifact=artifact, needs=needs) + SCENES.format()
    script = head + (LITE if loader.api == "lite" else ONNX) + SCRIPT_TAIL
    return f"{text}\n\nthen run this script as `repro.py` in the same directory:\n\n{fence(script, 'python')}"
