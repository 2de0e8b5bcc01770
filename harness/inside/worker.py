"""The long-lived consumer worker: load exports, run the fixed input, send outputs back.

Protocol (JSON lines, version PROTOCOL_VERSION): the worker sends {"event": "ready"}
once paddle is imported; for each task line it sends {"event": "start", "id": ...}
*before* touching the export, so a death by signal is pinned on the right cell, then
one of {"event": "done", "id", "ok", "stage", "outputs": [...]} (each output with the
scene it answers: input.npz's "x@k" feeds are scene k, run after scene 0's "x"),
{"event": "crashed", "id", "signal"} or {"event": "timeout", "id"}.
The host judges outputs; the worker never decides pass or fail.

Where the OS can fork, each task runs in a child forked from the worker after paddle
is imported: a loader that segfaults kills only that child (no new `import paddle`,
which costs seconds), and no cell sees state an earlier cell left behind.
"""
import json
import os
import time

import numpy
import numpy.random  # noqa: F401

import paddle

from harness.inside import PROTOCOL_VERSION
from harness.inside.common import exception_record, protocol_channel, run_task_feeds, signal_name, wait_child


def predictor_runner(task):
    loader = task["loader"]
    config = paddle.inference.Config(task["program"], task["params"])
    calls = []
    if loader.get("onednn") == "off":
        if hasattr(config, "disable_mkldnn"):
            config.disable_mkldnn()
            calls.append("disable_mkldnn()")
        else:
            # Paddle <= 2.5 has no disable_mkldnn: oneDNN stays off unless enable_mkldnn() is
            # called. Ask the config rather than assume it.
            enabled = config.mkldnn_enabled() if hasattr(config, "mkldnn_enabled") else None
            calls.append("no disable_mkldnn() in this Paddle; mkldnn_enabled() is %r" % (enabled,))
            if enabled:
                raise RuntimeError("oneDNN is on and this Paddle has no disable_mkldnn() to turn it off")
    elif loader.get("onednn") == "on":
        config.enable_mkldnn()
        calls.append("enable_mkldnn()")
    elif loader.get("onednn") == "int8":
        calls += onednn_int8(config)
    if loader.get("device") == "gpu":
        calls += gpu(config, loader.get("tensorrt", "off"))
    if loader.get("ir_optim") in ("off", "on"):
        config.switch_ir_optim(loader["ir_optim"] == "on")
        calls.append("switch_ir_optim(%s)" % (loader["ir_optim"] == "on"))
    predictor = paddle.inference.create_predictor(config)

    def run(feeds):
        names = predictor.get_input_names()
        # Feed by name where the program kept the names, by position otherwise
        # (input.npz keeps the program's input order).
        arrays = [feeds[n] if n in feeds else list(feeds.values())[i] for i, n in enumerate(names)]
        for name, array in zip(names, arrays):
            handle = predictor.get_input_handle(name)
            handle.reshape(list(array.shape))
            handle.copy_from_cpu(numpy.ascontiguousarray(array))
        predictor.run()
        return [(n, predictor.get_output_handle(n).copy_to_cpu()) for n in predictor.get_output_names()]
    return run, calls


def _call(config, names, *args):
    """The first of `names` this Config has, called (3.2 renamed mkldnn -> onednn and keeps
    both); the call as written, for the cell's evidence."""
    for name in names:
        if hasattr(config, name):
            getattr(config, name)(*args)
            return "%s(%s)" % (name, ", ".join(repr(a) for a in args))
    raise RuntimeError("this Paddle's inference Config has none of %s" % ", ".join(names))


def onednn_int8(config):
    """oneDNN with its INT8 kernels: quantize/dequantize ops become INT8 oneDNN ops."""
    return [_call(config, ("enable_onednn", "enable_mkldnn")),
            _call(config, ("enable_onednn_int8", "enable_mkldnn_int8"))]


def gpu(config, tensorrt):
    """The GPU, optionally through TensorRT at a precision (fp32/fp16/int8; calibration off:
    an INT8 export carries its scales). Only ever run where the host found a GPU."""
    calls = [_call(config, ("enable_use_gpu",), 256, 0)]
    if tensorrt in ("fp32", "fp16", "int8"):
        kind = {"fp32": "Float32", "fp16": "Half", "int8": "Int8"}[tensorrt]
        config.enable_tensorrt_engine(workspace_size=1 << 28, max_batch_size=1, min_subgraph_size=3,
                                      precision_mode=getattr(paddle.inference.PrecisionType, kind),
                                      use_static=False, use_calib_mode=False)
        calls.append("enable_tensorrt_engine(precision_mode=PrecisionType.%s, use_calib_mode=False)" % kind)
    return calls


def jit_load_runner(task):
    layer = paddle.jit.load(task["prefix"])
    layer.eval()

    def run(feeds):
        outputs = layer(*[paddle.to_tensor(a) for a in feeds.values()])  # in input.npz's (the program's) order
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [("output_%d" % i, o.numpy()) for i, o in enumerate(outputs)]
    return run, ["paddle.jit.load(%r)" % task["prefix"]]


RUNNERS = {"predictor": predictor_runner, "jit_load": jit_load_runner}


def peak_rss_mb():
    """Peak resident memory of this process (the forked child runs exactly one cell)."""
    try:
        import resource
    except ImportError:  # not on this OS
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_task(task):
    reply = {"event": "done", "id": task["id"], "ok": False, "stage": "load"}
    started = time.time()
    try:
        runner, calls = RUNNERS[task["loader"]["api"]](task)
        reply["config_calls"] = calls
        reply["load_s"] = time.time() - started
        reply["stage"] = "run"
        # The fixed scenes ("image", "image@1", ...), then the evaluation images.
        run_task_feeds(runner, task, reply)
        reply["run_s"] = time.time() - started - reply["load_s"]
        reply["ok"], reply["stage"] = True, None
    except Exception as exc:  # a load/run failure is a cell state
        reply.update(exception_record(exc))
    reply["peak_rss_mb"] = peak_rss_mb()
    return reply


def run_forked(task, send):
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave without running the parent's cleanup
        code = 1
        try:
            send(run_task(task))
            code = 0
        finally:
            os._exit(code)
    status, timed_out = wait_child(pid, float(task.get("timeout_s") or 3600))
    if timed_out:
        send({"event": "timeout", "id": task["id"]})
    elif os.WIFSIGNALED(status):
        send({"event": "crashed", "id": task["id"], "signal": signal_name(os.WTERMSIG(status))})
    elif os.WEXITSTATUS(status) != 0:
        send({"event": "crashed", "id": task["id"], "signal": "exit status %d" % os.WEXITSTATUS(status)})


def serve(stdin):
    channel = protocol_channel()

    def send(message):
        message["v"] = PROTOCOL_VERSION
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    isolation = "fork" if hasattr(os, "fork") else "process"
    send({"event": "ready", "paddle_version": paddle.__version__, "pid": os.getpid(), "isolation": isolation})
    for line in stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        send({"event": "start", "id": task["id"]})
        if isolation == "fork":
            run_forked(task, send)
        else:  # a crash takes the worker down; the host pins it on this task and restarts
            send(run_task(task))
    return 0
