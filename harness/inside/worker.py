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
from harness.inside.common import (encode, exception_record, protocol_channel, read_feeds, scenes_of, signal_name,
                                   wait_child)


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
        feeds = read_feeds(task["input"])
        # One run per scene ("image", "image@1", ...); scene k's outputs are named "<name>@k".
        encoded = []
        for k, scene in scenes_of(feeds):
            reply["scene"] = k
            encoded += [encode(n if k == 0 else "%s@%d" % (n, k), a, k) for n, a in runner(scene)]
        reply.pop("scene", None)
        reply["run_s"] = time.time() - started - reply["load_s"]
        reply["outputs"] = encoded
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
