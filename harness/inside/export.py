"""Train a tiny detector once per runtime, then export it in one mode per process.

One process per export: FLAGS_enable_pir_api must be set before paddle is imported,
and an export that segfaults must take only itself down.
"""
import os
import time
import warnings

import numpy
import numpy.random  # noqa: F401

import paddle

from harness.inside import models
from harness.inside.common import exception_record, write_json_atomic
from harness.inside.probe import capabilities, pir_enabled

PREFIX = "model"


def train(spec):
    paddle.seed(spec["seed"])
    model = models.build_model(spec["model"])
    started = time.time()
    losses = models.train(model, spec["model"], spec["steps"], spec["seed"])
    os.makedirs(spec["out_dir"], exist_ok=True)
    paddle.save(model.state_dict(), os.path.join(spec["out_dir"], "weights.pdparams"))
    write_json_atomic(os.path.join(spec["out_dir"], "train.json"), {
        "losses": [float(x) for x in losses], "seconds": time.time() - started,
        "paddle_version": paddle.__version__})
    return 0


def not_applicable_reason(mode, caps):
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


def save_reference(model, name, out_dir):
    """The producer's own dygraph outputs on the fixed input: what consumers must match."""
    feeds = models.fixed_input(name)
    numpy.savez(os.path.join(out_dir, "input.npz"), **feeds)
    outputs = model(*[paddle.to_tensor(feeds[k]) for k in sorted(feeds)])
    arrays = [o.numpy() for o in outputs]
    numpy.savez(os.path.join(out_dir, "reference.npz"), **{"output_%d" % i: a for i, a in enumerate(arrays)})


def do_export(spec, record, caps):
    mode, name, out_dir = spec["mode"], spec["model"], spec["out_dir"]
    model = models.build_model(name)
    model.set_state_dict(paddle.load(spec["weights"]))
    model.eval()
    save_reference(model, name, out_dir)
    kwargs = to_static_kwargs(mode, caps)
    record["to_static_kwargs"] = kwargs
    record["stage"] = "to_static"
    static = paddle.jit.to_static(model, input_spec=models.input_spec(name), **kwargs)
    record["static_function"] = type(static.forward).__name__
    if mode.get("read_main_program"):
        # PaddleDetection's export reads the program to prune its input spec.
        record["stage"] = "main_program"
        static.forward.main_program
    record["stage"] = "jit.save"
    paddle.jit.save(static, os.path.join(out_dir, PREFIX), input_spec=models.input_spec(name))


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
    record = {"status": "ok", "error": "", "log": "", "mode": spec["mode"], "model": spec["model"],
              "paddle_version": paddle.__version__, "pir_api": pir_enabled(), "capabilities": caps}
    reason = not_applicable_reason(spec["mode"], caps)
    if reason:
        record.update(status="not_applicable", error=reason)
    else:
        started = time.time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                do_export(spec, record, caps)
            except Exception as exc:  # an export failure is a cell state, not a harness error
                record.update(exception_record(exc), status="export_failed")
        record["warnings"] = sorted(set(str(w.message).strip() for w in caught))[:20]
        record["seconds"] = time.time() - started
        record["files"] = files_written(out_dir)
        if record["status"] == "ok":
            check_format(spec["mode"], record)
    write_json_atomic(os.path.join(out_dir, "export.json"), record)
    return 0
