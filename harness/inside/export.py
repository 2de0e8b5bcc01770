"""Train a detector once per runtime, then export it in one mode per process.

One process per export: FLAGS_enable_pir_api must be set before paddle is imported,
and an export that segfaults must take only itself down. Three model families: "tiny"
(models.py, exported by the harness's own to_static + jit.save), "control" (the positive
control of control_model.py, exported the same way) and "ppdet" (ppdet_models.py, built
from PaddleDetection's config system, exported by its steps).
"""
import os
import shutil
import sys
import time
import warnings


def use_extras():
    """Put a model's requires (HARNESS_EXTRAS: installed next to the runtime, not in it)
    first on sys.path. Before paddle is imported: paddle imports setuptools, and ppdet
    needs the pinned setuptools that still has pkg_resources, not the runtime's."""
    extras = os.environ.get("HARNESS_EXTRAS")
    if extras and extras not in sys.path:
        sys.path.insert(0, extras)


use_extras()

import numpy
import numpy.random  # noqa: F401

import functools

import paddle

from harness.inside import control_model, evalset, models, quantize
from harness.inside.common import exception_record, write_json_atomic
from harness.inside.probe import capabilities, pir_enabled

PREFIX = "model"


def train(spec):
    return family_of(spec).train(spec)


def save_weights(model, out_dir):
    """weights.pdparams (paddle.save: a pickle, whose numpy arrays name numpy's own modules, so
    a file written beside numpy 2 does not load beside numpy 1) and weights.npz (plain arrays
    every numpy reads): another runtime exports these weights ("train high, export low")."""
    state = model.state_dict()
    paddle.save(state, os.path.join(out_dir, "weights.pdparams"))
    numpy.savez(os.path.join(out_dir, "weights.npz"), **{k: v.numpy() for k, v in state.items()})


def load_weights(path):
    """The state dict saved by save_weights: from the .npz beside it where there is one."""
    npz = os.path.splitext(path)[0] + ".npz"
    if not os.path.exists(npz):
        return paddle.load(path)
    with numpy.load(npz) as data:
        return {k: data[k] for k in data.files}


def train_tiny(spec, module=models):
    """The harness's own models (models.py, or another module with its API)."""
    paddle.seed(spec["seed"])
    dynamic = bool(spec.get("dynamic_size"))
    model = module.build_model(spec["model"], dynamic)
    started = time.time()
    losses = module.train(model, spec["model"], spec["steps"], spec["seed"], dynamic)
    os.makedirs(spec["out_dir"], exist_ok=True)
    save_weights(model, spec["out_dir"])
    write_json_atomic(os.path.join(spec["out_dir"], "train.json"), {
        "losses": [float(x) for x in losses], "seconds": time.time() - started,
        "paddle_version": paddle.__version__})
    return 0


def train_ppdet(spec):
    """ppdet's own PP-YOLOE and loss. Why it could not train goes into train.json, which
    the host reads: a ppdet that does not import here is the row's reason."""
    from harness.inside import ppdet_models
    started = time.time()
    result = {"paddle_version": paddle.__version__, "family": "ppdet"}
    try:
        usable, why = ppdet_models.available(spec["model"])
        if usable:
            result["ppdet_version"] = ppdet_models.version()
            paddle.seed(spec["seed"])
            model = ppdet_models.build(spec["model"])
            losses = ppdet_models.train(model, spec["steps"], spec["seed"])
            # Saved before any deploy conversion, which renames parameters.
            save_weights(model, spec["out_dir"])
            result["losses"] = [float(x) for x in losses]
        else:
            result["error"] = "paddledet cannot be used here: " + why
    except Exception as exc:  # recorded for the host; the exit status says it failed
        result.update(exception_record(exc))
    result["seconds"] = time.time() - started
    write_json_atomic(os.path.join(spec["out_dir"], "train.json"), result)
    if "error" in result:
        sys.stderr.write(result.get("log") or result["error"] + "\n")
        return 1
    return 0


def not_applicable_reason(mode, caps, family="tiny"):
    if mode.get("precision", "fp32") != "fp32":
        if family == "control":
            # An INT8 export is judged by its accuracy on the evaluation set: the control
            # is not a detector.
            return "INT8 exports are made of detectors only (judged by mAP); the control model is not one"
        if not caps.get("ptq_int8"):
            return quantize.ptq_api()[1]
    if mode["program_format"] == "pir" and not caps["pir_programs"]:
        return "this Paddle cannot write PIR .json programs (no paddle.jit.pir_translated_layer)"
    if mode["program_format"] == "pir" and not pir_enabled():
        return "FLAGS_enable_pir_api=1 did not switch this Paddle to the PIR API"
    if not mode["full_graph"] and not caps["full_graph_option"]:
        return "paddle.jit.to_static in this Paddle has no full_graph option (no SOT export)"
    return None


def to_static_kwargs(mode, caps):
    kwargs = {}
    if caps["full_graph_option"]:
        kwargs["full_graph"] = bool(mode["full_graph"])
    return kwargs


def files_written(out_dir):
    return {name: os.path.getsize(os.path.join(out_dir, name)) for name in sorted(os.listdir(out_dir))}


def program_of(files):
    """Which program the export holds: PIR .json or legacy .pdmodel."""
    for suffix, fmt in ((".json", "pir"), (".pdmodel", "legacy")):
        if PREFIX + suffix in files:
            return PREFIX + suffix, fmt
    return None, None


def save_reference(model, name, out_dir, dynamic_size=False, module=models):
    """The producer's own FP32 dygraph outputs on the fixed scenes: what consumers must match.
    input.npz holds "image" (scene 0), "image@1", ...; reference.npz "output_i" and
    "output_i@k" the same way; truth.json what each scene holds, for the host's check
    that the reference itself is sane. A detector also gets its evaluation set
    (evalset.save_eval; the control model is not a detector)."""
    feeds = module.fixed_input(name, dynamic_size)
    numpy.savez(os.path.join(out_dir, "input.npz"), **feeds)
    arrays = {}
    for k in range(len(feeds)):
        outputs = model(paddle.to_tensor(feeds[models.scene_key("image", k)]))
        for i, o in enumerate(outputs):
            arrays[models.scene_key("output_%d" % i, k)] = o.numpy()
    numpy.savez(os.path.join(out_dir, "reference.npz"), **arrays)
    truth = {"scenes": module.truth(name, dynamic_size)}
    if module is models:
        truth["eval"] = evalset.save_eval(
            out_dir, lambda one: [o.numpy() for o in model(paddle.to_tensor(one["image"]))])
    write_json_atomic(os.path.join(out_dir, "truth.json"), truth)


def quantized(model, record, inputs_of=lambda image: [paddle.to_tensor(image[None])]):
    """The INT8 model (paddle.quantization PTQ, calibrated on the calibration split); the
    FP32 model has already written the reference, which INT8 is judged against.
    ``inputs_of(image)``: the model's call arguments for one calibration image."""
    record["stage"] = "quantize"
    calibration = [inputs_of(image) for image in evalset.calibration_images()]
    converted, info = quantize.ptq_int8(model, calibration)
    record["quantization"] = info
    return converted


def check_quantized(out_dir, record):
    """What the saved program holds: an INT8 export without a quantize/dequantize op is
    export_failed (it is not quantized, whatever was asked)."""
    ops = quantize.program_ops(out_dir, record["program_file"])
    found = quantize.quant_op_counts(ops)
    record.setdefault("quantization", {})["quant_ops"] = found
    # What the params file holds, not what anyone says it holds (None: not a format read here).
    stored = quantize.params_dtypes(os.path.join(out_dir, PREFIX + ".pdiparams"))
    record["quantization"].update(int8_weights=stored.get("INT8", 0) if stored is not None else None,
                                  params_dtypes=stored)
    if ops is not None and not found:
        record.update(status="export_failed", stage="quantize",
                      error="asked for an INT8 export, the saved program holds no quantize/dequantize op")


def export_tiny(spec, record, caps, module=models):
    mode, name, out_dir = spec["mode"], spec["model"], spec["out_dir"]
    dynamic = bool(spec.get("dynamic_size"))
    model = module.build_model(name, dynamic)
    model.set_state_dict(load_weights(spec["weights"]))
    model.eval()
    record["stage"] = "reference"
    save_reference(model, name, out_dir, dynamic, module)
    record["precision"] = mode.get("precision", "fp32")
    slim = record["precision"] == "int8" and mode.get("quantizer") == "paddleslim"
    if record["precision"] == "int8" and not slim:
        model = quantized(model, record)
    kwargs = to_static_kwargs(mode, caps)
    record["to_static_kwargs"] = kwargs
    record["input_spec"] = {s.name: [list(s.shape), s.name] for s in module.input_spec(name, dynamic)}
    record["stage"] = "to_static"
    static = paddle.jit.to_static(model, input_spec=module.input_spec(name, dynamic), **kwargs)
    record["static_function"] = type(static.forward).__name__
    if mode.get("read_main_program"):
        # PaddleDetection's export reads the program to prune its input spec.
        record["stage"] = "main_program"
        static.forward.main_program
    record["stage"] = "jit.save"
    saved = os.path.join(out_dir, "fp32") if slim else out_dir  # PaddleSlim quantizes a saved program
    paddle.jit.save(static, os.path.join(saved, PREFIX), input_spec=module.input_spec(name, dynamic))
    if slim:
        record["stage"] = "quant_post_static"
        record["quantization"] = quantize.slim_int8(
            out_dir, saved, evalset.image_feeds, evalset.calibration_images())
        shutil.rmtree(saved)


def export_ppdet(spec, record, caps):
    """PaddleDetection's own export (ppdet_models.export) of its PP-YOLOE or DINO. It always
    reads forward.main_program to prune its inputs, whatever the mode's read_main_program."""
    from harness.inside import ppdet_models
    mode, name, out_dir = spec["mode"], spec["model"], spec["out_dir"]
    record["stage"] = "import"
    usable, why = ppdet_models.available(name)
    if not usable:
        record.update(status="export_failed", error="paddledet cannot be used here: " + why)
        return
    record["ppdet_version"] = ppdet_models.version()
    record["stage"] = "build"
    model = ppdet_models.build(name)
    # Weights first: the deploy conversion in forward_outputs/export renames parameters.
    model.set_state_dict(load_weights(spec["weights"]))
    model.eval()
    record["stage"] = "reference"
    feeds = ppdet_models.fixed_input()
    outputs = ppdet_models.forward_outputs(model, feeds)
    numpy.savez(os.path.join(out_dir, "reference.npz"), **{"output_%d" % i: a for i, a in enumerate(outputs)})
    # The FP32 model's detections on the evaluation set, before any quantization.
    truth = evalset.save_eval(out_dir, lambda one: ppdet_models.forward_outputs(model, one), ppdet_models.feeds_for)
    write_json_atomic(os.path.join(out_dir, "truth.json"), {"eval": truth})
    record["precision"] = mode.get("precision", "fp32")
    if record["precision"] == "int8":
        model = quantized(model, record, lambda image: [
            {k: paddle.to_tensor(v) for k, v in ppdet_models.feeds_for(image).items()}])
    ppdet_models.export(model, out_dir, PREFIX, mode["full_graph"], record)
    # Only what the pruned program takes: jit.load is fed the inputs by position (sorted
    # names), the predictor by name.
    inputs = record["pruned_inputs"]
    if not inputs:
        # ppdet's _prune_input_spec looks variables up in a legacy block: on a PIR program it
        # finds none and keeps nothing, while jit.save still writes every input.
        record["note"] = "ppdet's _prune_input_spec kept no input (a PIR program); every input is fed"
        inputs = sorted(feeds)
    numpy.savez(os.path.join(out_dir, "input.npz"), **{k: feeds[k] for k in inputs})
    evalset.keep_inputs(out_dir, inputs)


class Family(object):
    """How one model family trains and exports: the one interface every family implements
    (the host names the family in the spec; nothing else branches on it)."""

    def __init__(self, train, export):
        self.train = train
        self.export = export


FAMILIES = {
    "tiny": Family(train_tiny, export_tiny),  # models.py, the harness's own to_static + jit.save
    "ppdet": Family(train_ppdet, export_ppdet),  # ppdet_models.py, PaddleDetection's own steps
    # control_model.py, the positive control (ops every deployment tool converts), as "tiny"
    "control": Family(functools.partial(train_tiny, module=control_model),
                      functools.partial(export_tiny, module=control_model)),
}


def family_of(spec):
    return FAMILIES[spec.get("family", "tiny")]


def check_format(mode, record):
    files = record["files"]
    program, fmt = program_of(files)
    record["program_file"], record["program_format"] = program, fmt
    if fmt != mode["program_format"]:
        wanted = {"pir": PREFIX + ".json", "legacy": PREFIX + ".pdmodel"}[mode["program_format"]]
        record["status"] = "export_failed"
        record["error"] = "asked for a %s program (%s), Paddle wrote: %s" % (
            mode["program_format"], wanted, ", ".join(files) or "nothing")


def export(spec):
    out_dir = spec["out_dir"]
    os.makedirs(out_dir, exist_ok=True)
    caps = capabilities()
    family = spec.get("family", "tiny")
    record = {"status": "ok", "error": "", "log": "", "mode": spec["mode"], "model": spec["model"],
              "family": family, "paddle_version": paddle.__version__, "pir_api": pir_enabled(),
              "capabilities": caps}
    reason = not_applicable_reason(spec["mode"], caps, family)
    if reason:
        record.update(status="not_applicable", error=reason)
    else:
        started = time.time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                family_of(spec).export(spec, record, caps)
            except Exception as exc:  # an export failure is a cell state, not a harness error
                record.update(exception_record(exc), status="export_failed")
        record["warnings"] = sorted(set(str(w.message).strip() for w in caught))[:20]
        record["seconds"] = time.time() - started
        record["files"] = files_written(out_dir)
        if record["status"] == "ok":
            check_format(spec["mode"], record)
        if record["status"] == "ok" and record.get("precision") == "int8":
            check_quantized(out_dir, record)
    write_json_atomic(os.path.join(out_dir, "export.json"), record)
    return 0
