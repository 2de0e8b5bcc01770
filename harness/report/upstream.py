"""An upstream report for a failing cell: Markdown ready to paste into a Paddle issue.

It holds a minimal script that uses only the consumer's own stack (numpy and paddle; no
harness import) to load the export files from its own directory and run the input as the
cell's loader did, the environment where it fails (Paddle version, wheel, commit, Python,
OS), how the model was exported, and the verbatim error and log. A pure function of the
cell and the entries of the results document; the report page, `repro --report-md` and the
runtime tier all use it. The report is a list of sections (joined by blank lines), so the
page can keep each shared section once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Sequence

from harness.document.cell import Result, Stage, Status, clip
from harness.document.runtimes import ExportEntry, LoaderEntry, RuntimeEntry

LOG_CHARS = 6000  # head and tail of the log: enough for the traceback, small enough for an issue
PYPI = "https://pypi.org/simple"
EXPORT_STAGES = (Stage.EXPORT, Stage.REFERENCE)
DEPLOY_APIS = ("lite", "onnx")  # a deployment consumer's loaders (harness/config/deployments.py)
ACTIONS = {
    Stage.LOAD: "cannot load",
    Stage.RUN: "loads but cannot run",
    Stage.COMPARE: "gives different outputs for",
    Stage.ACCURACY: "loses detection accuracy (mAP) on",
}

PADDLE_HEAD = '''"""{title}

Put this file next to the exported model ({files}) and run it with the Python
of the environment below: python repro.py. Needs only numpy and paddle."""
import os

import numpy as np
import paddle

HERE = os.path.dirname(os.path.abspath(__file__))
print("paddle", paddle.__version__, "commit", paddle.version.commit, flush=True)
'''
# Shared by every script (a deployment consumer's too): input.npz's scenes.
SCENES = '''

def scenes(path):
    """input.npz's feeds, one list per scene ("image" is scene 0, "image@1" scene 1, ...)."""
    found = {{}}
    with np.load(path) as data:
        for key in data.files:
            name, sep, k = key.rpartition("@")
            if not (sep and name and k.isdigit()):
                name, k = key, "0"
            found.setdefault(int(k), []).append((name, data[key]))
    return [found[k] for k in sorted(found)]

'''
SCRIPT_HEAD = PADDLE_HEAD + SCENES
PREDICTOR = """
from paddle import inference

config = inference.Config(os.path.join(HERE, "{program}"), os.path.join(HERE, "model.pdiparams"))
{calls}predictor = inference.create_predictor(config)


def run(feeds):
    names = predictor.get_input_names()
    by_name = dict(feeds)
    for i, name in enumerate(names):
        array = by_name[name] if name in by_name else feeds[i][1]  # by name, else by position
        handle = predictor.get_input_handle(name)
        handle.reshape(list(array.shape))
        handle.copy_from_cpu(np.ascontiguousarray(array))
    predictor.run()
    return [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]

"""
JIT_LOAD = """
layer = paddle.jit.load(os.path.join(HERE, "model"))  # finds model.json / model.pdmodel itself
layer.eval()


def run(feeds):
    outputs = layer(*[paddle.to_tensor(array) for _, array in feeds])
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [o.numpy() for o in outputs]

"""
SCRIPT_TAIL = """
reference_path = os.path.join(HERE, "reference.npz")
reference = dict(np.load(reference_path)) if os.path.exists(reference_path) else None
worst = 0.0
for k, feeds in enumerate(scenes(os.path.join(HERE, "input.npz"))):
    for i, out in enumerate(run(feeds)):
        name = "output_%d" % i + ("@%d" % k if k else "")
        print(name, out.dtype, list(out.shape), flush=True)
        if reference is None or name not in reference:
            print(out)
        elif reference[name].shape != out.shape:
            print("  shape differs from reference.npz:", list(reference[name].shape))
            worst = float("inf")
        elif out.size:
            diff = float(np.max(np.abs(out.astype("float64") - reference[name].astype("float64"))))
            print("  max abs diff from reference.npz:", diff)
            worst = max(worst, diff)
if reference is not None:
    print("max abs diff from reference.npz over all outputs:", worst)
# The evaluation images (where attached): confident detections here and in the producer's
# FP32 reference, image by image (the matrix computed its mAP from them with pycocotools).
eval_path, ref_eval_path = os.path.join(HERE, "eval.npz"), os.path.join(HERE, "reference_eval.npz")
if os.path.exists(eval_path) and os.path.exists(ref_eval_path):
    ref_eval = dict(np.load(ref_eval_path))
    here = there = 0
    for k, feeds in enumerate(scenes(eval_path)):
        boxes = run(feeds)[0].reshape(-1, 6)
        ref = ref_eval["output_0@%d" % k].reshape(-1, 6)
        here += int(((boxes[:, 0] >= 0) & (boxes[:, 1] >= 0.3)).sum())
        there += int(((ref[:, 0] >= 0) & (ref[:, 1] >= 0.3)).sum())
    print("evaluation images: %d detections with score >= 0.3 here, %d in the FP32 reference" % (here, there))
"""


def upstream_report(
    cell: Result,
    *,
    consumer: RuntimeEntry | None,
    producer: RuntimeEntry | None,
    loader: LoaderEntry | None,
    export: ExportEntry | None,
) -> str:
    """The whole Markdown block."""
    return "\n\n".join(upstream_sections(cell, consumer=consumer, producer=producer, loader=loader, export=export))


def upstream_sections(
    cell: Result,
    *,
    consumer: RuntimeEntry | None,
    producer: RuntimeEntry | None,
    loader: LoaderEntry | None,
    export: ExportEntry | None,
    memo: dict[Hashable, str] | None = None,
) -> list[str]:
    """The report as sections: title, error, script (or how to redo the export), the
    environment, how it was exported, the log. ``memo`` keeps sections that many cells of
    one document share (an environment, a script, a log), so a page of many cells is cheap;
    it must only ever see entries of that one document."""
    once = _Once(memo)
    log = once(("log", cell.log), lambda: _log(cell.log))
    measured = json.dumps(cell.details.get("accuracy"), sort_keys=True, default=str)
    what = once(("what", cell.status, cell.stage, cell.max_abs_diff, cell.error, measured), lambda: _what(cell))
    if cell.stage in EXPORT_STAGES:
        env = once(("env", cell.producer), lambda: environment(producer, cell.producer))
        return [*_export_failure(cell, producer, export), what, env, _export_note(cell), log]
    program = _program(export, cell)
    if loader is not None and loader.api in DEPLOY_APIS:
        from harness.report.upstream_deploy import deploy_sections

        parts = (what, log, once(("env", cell.consumer), lambda: deploy_environment(consumer, cell.consumer)))
        return deploy_sections(cell, consumer, producer, loader, export, program, parts)
    loader = loader or LoaderEntry(cell.loader, "predictor")
    api = "paddle.jit.load" if loader.api == "jit_load" else "paddle.inference predictor"
    fmt = export.program_format if export and export.program_format else program
    title = _title(cell, api, _version(consumer, cell.consumer), _version(producer, cell.producer), fmt)
    where = f"Paddle {_version(consumer, cell.consumer)}"
    evaluation = "accuracy" in cell.details
    steps = once(
        ("steps", program, where, loader.id, title, evaluation),
        lambda: _steps(loader, program, where, title, evaluation),
    )
    env = once(("env", cell.consumer), lambda: environment(consumer, cell.consumer))
    exported = once(
        ("exported", cell.producer, cell.model, cell.export), lambda: _exported(producer, cell.producer, export)
    )
    return [f"### {title}", what, steps, env, exported, log]


class _Once:
    def __init__(self, memo: dict[Hashable, str] | None) -> None:
        self.memo = memo

    def __call__(self, key: Hashable, make: Callable[[], str]) -> str:
        if self.memo is None:
            return make()
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = make()
        return found


def _steps(loader: LoaderEntry, program: str, where: str, title: str, evaluation: bool = False) -> str:
    files = [program, "model.pdiparams", "input.npz", "reference.npz"]
    files += ["eval.npz", "reference_eval.npz"] if evaluation else []
    steps = (
        f"**To reproduce**: save the script below as `repro.py` next to the exported files "
        f"({', '.join(f'`{f}`' for f in files)}; attached) and run `python repro.py` with {where}."
    )
    return f"{steps}\n\n{fence(repro_script(loader, program, title), 'python')}"


def repro_script(loader: LoaderEntry, program: str, title: str) -> str:
    """The minimal script: load the export next to it as ``loader`` does, run input.npz,
    print the outputs or their difference from reference.npz."""
    head = SCRIPT_HEAD.format(title=title.replace('"""', "'''"), files=f"{program}, model.pdiparams, input.npz")
    if loader.api == "jit_load":
        return head + JIT_LOAD + SCRIPT_TAIL
    return (
        head
        + PREDICTOR.format(program=program, calls="".join(f"config.{c}\n" for c in config_calls(loader)))
        + (SCRIPT_TAIL)
    )


def config_calls(loader: LoaderEntry) -> list[str]:
    """The paddle.inference.Config calls the harness's worker makes for this loader."""
    calls = []
    if loader.onednn in ("off", "on"):
        calls.append("disable_mkldnn()" if loader.onednn == "off" else "enable_mkldnn()")
    if loader.onednn == "int8":
        calls += ["enable_mkldnn()", "enable_mkldnn_int8()"]
    if loader.ir_optim in ("off", "on"):
        calls.append(f"switch_ir_optim({loader.ir_optim == 'on'})")
    if loader.device == "gpu":
        calls.append("enable_use_gpu(256, 0)")
    if loader.tensorrt != "off":
        kind = {"fp32": "Float32", "fp16": "Half", "int8": "Int8"}.get(loader.tensorrt, "Float32")
        calls.append(
            "enable_tensorrt_engine(workspace_size=1 << 28, max_batch_size=1, min_subgraph_size=3, "
            f"precision_mode=inference.PrecisionType.{kind}, use_static=False, use_calib_mode=False)"
        )
    return calls


def environment(runtime: RuntimeEntry | None, runtime_id: str) -> str:
    """Paddle version, wheel and commit, Python, numpy and OS of one runtime, as a list
    under its heading."""
    fp = runtime.fingerprint if runtime else None
    version = _version(runtime, runtime_id)
    commit = f" (commit `{fp.paddle_commit}`)" if fp and fp.paddle_commit else ""
    lines = ["**Environment where it fails**", "", f"- Paddle {version}{commit}, wheel {_wheel(runtime)}"]
    python = (fp.python if fp else "") or (runtime.python if runtime else "")
    numpy = f", numpy {fp.numpy}" if fp and fp.numpy else ""
    lines.append(f"- Python {python or 'unknown'}{numpy}")
    lines.append(f"- OS {fp.platform if fp and fp.platform else 'unknown'}")
    if runtime and runtime.device:
        lines.append(f"- device {runtime.device}")
    return "\n".join(lines)


def deploy_environment(runtime: RuntimeEntry | None, runtime_id: str) -> str:
    """A deployment consumer's tool and the packages next to it, Python and OS."""
    fp = runtime.fingerprint if runtime else None
    tool = str(fp.extra.get("tool_version", "")) if fp else ""
    lines = ["**Environment where it fails**", "", f"- {tool or (runtime.package if runtime else runtime_id)}"]
    wanted = ("paddlelite", "paddle2onnx", "onnxruntime", "paddlepaddle", "numpy")
    pins = [_frozen(fp.packages, name) for name in wanted] if fp else (runtime.pins if runtime else [])
    if [p for p in pins if p]:
        lines.append("- packages: " + ", ".join(f"`{p}`" for p in pins if p))
    lines.append(f"- Python {(fp.python if fp else '') or (runtime.python if runtime else '') or 'unknown'}")
    lines.append(f"- OS {fp.platform if fp and fp.platform else 'unknown'}")
    return "\n".join(lines)


def fence(text: str, lang: str = "text") -> str:
    """A fenced block that ``text`` cannot close, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{lang}\n{text.rstrip()}\n{marks}"


# ---------------------------------------------------------------- the parts


def _title(cell: Result, api: str, consumer: str, producer: str, fmt: str) -> str:
    action = ACTIONS.get(cell.stage or Stage.LOAD, "fails on")
    if cell.status is Status.CRASH:
        action = f"dies by {cell.details.get('signal') or 'a signal'} loading"
    return f"`{api}` in Paddle {consumer} {action} a model exported by Paddle {producer} ({fmt} program)"


def _what(cell: Result) -> str:
    stage = cell.stage.value if cell.stage else "?"
    diff = f", max abs diff {cell.max_abs_diff:.6g}" if cell.max_abs_diff is not None else ""
    error = cell.error or "(no error text was recorded)"
    found = cell.details.get("accuracy")
    if isinstance(found, dict) and {"map50", "reference_map50", "chance_map50"} <= set(found):
        diff += (
            f"; mAP@0.5 on the harness's evaluation set {found['map50']:.3f}, the producer's FP32 reference "
            f"{found['reference_map50']:.3f}, chance {found['chance_map50']:.3f}"
        )
    return f"Status `{cell.status.value}` at the {stage} stage{diff}. The error, verbatim:\n\n{fence(error)}"


def _exported(producer: RuntimeEntry | None, producer_id: str, export: ExportEntry | None) -> str:
    fp = producer.fingerprint if producer else None
    commit = f" (commit `{fp.paddle_commit}`)" if fp and fp.paddle_commit else ""
    lines = [
        "**How the model was exported**",
        "",
        f"- by Paddle {_version(producer, producer_id)}{commit}, wheel {_wheel(producer)}",
    ]
    if export is not None:
        kwargs = json.dumps(export.to_static_kwargs) if export.to_static_kwargs is not None else "?"
        pir = {True: "1", False: "0"}.get(export.pir_api) if export.pir_api is not None else None
        flag = f" with `FLAGS_enable_pir_api={pir}`" if pir else ""
        lines.append(f"- `paddle.jit.to_static(model, input_spec=..., **{kwargs})` then `paddle.jit.save`{flag}")
        if export.files:
            lines.append("- files: " + ", ".join(f"`{name}` ({size} bytes)" for name, size in export.files.items()))
        if export.params_sha256:
            lines.append(f"- `model.pdiparams` sha256 `{export.params_sha256}`")
    return "\n".join(lines)


def _export_failure(cell: Result, producer: RuntimeEntry | None, export: ExportEntry | None) -> list[str]:
    kwargs = cell.details.get("export_to_static_kwargs")
    if kwargs is None and export is not None:
        kwargs = export.to_static_kwargs
    call = f"`paddle.jit.to_static(model, input_spec=..., **{json.dumps(kwargs)})` then `paddle.jit.save`"
    return [f"### Exporting with {call} fails in Paddle {_version(producer, cell.producer)}"]


def _export_note(cell: Result) -> str:
    return (
        "The export needs the model's code, so there is no standalone script here; "
        f"`nox -s repro -- {cell.producer} {cell.consumer} --model {cell.model} --export {cell.export}` "
        "in the harness redoes it."
    )


def _log(log: str) -> str:
    if not log.strip():
        return "(no log was recorded)"
    return f"<details><summary>Full log</summary>\n\n{fence(clip(log, LOG_CHARS))}\n\n</details>"


def _program(export: ExportEntry | None, cell: Result) -> str:
    if export is not None and export.program_file:
        return export.program_file
    return "model.json" if cell.export.endswith("pir") or "-pir" in cell.export else "model.pdmodel"


def _version(runtime: RuntimeEntry | None, runtime_id: str) -> str:
    fp = runtime.fingerprint if runtime else None
    return (fp.paddle_version if fp and fp.paddle_version else "") or (runtime.version if runtime else runtime_id)


def _wheel(runtime: RuntimeEntry | None) -> str:
    if runtime is None:
        return "unknown"
    pinned = _frozen(runtime.fingerprint.packages if runtime.fingerprint else [], runtime.package)
    where = "" if not runtime.index_url or runtime.index_url.rstrip("/") == PYPI else f" from {runtime.index_url}"
    return f"`{pinned or f'{runtime.package}=={runtime.version}'}`{where}"


def _frozen(packages: Sequence[str], package: str) -> str:
    """The pip freeze line of ``package`` (names compare as pip does: case, - and _ alike)."""
    wanted = re.sub(r"[-_.]+", "-", package).lower()
    for line in packages:
        name = re.split(r"[=<>@ ]", line, maxsplit=1)[0]
        if re.sub(r"[-_.]+", "-", name).lower() == wanted:
            return line
    return ""
