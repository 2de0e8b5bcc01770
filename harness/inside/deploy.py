"""A deployment consumer's worker: convert an export with a deployment tool, load the result,
run it on the fixed scenes, send the outputs back (the host judges them).

    python -m harness.inside deploy-worker lite|onnx    JSON lines on stdin/stdout
    python -m harness.inside deploy-probe lite|onnx     one JSON object: the runtime's fingerprint

Same protocol as worker.py (version PROTOCOL_VERSION): {"event": "ready"} once the tool is
imported; per task {"event": "start", "id"} before anything is touched, then one of
{"event": "done", "id", "ok", "stage", "outputs": [...]}, {"event": "crashed", "id", "stage",
"signal", "error"} or {"event": "timeout", "id", "stage"}. Every reply also carries what is
known of the conversion: the converted file's path and size, the tool's command line and the
calls made, the stage timings, and the tail of each stage's own log.

Task: {"id", "program", "params", "input", "out_dir", "target" (lite) | "opset" (onnx),
"timeout_s", "stages" (default ["convert", "run"])}. Each stage runs in its own forked child:
convert in one, load + run in another, so an optimizer that aborts (Paddle-Lite reports what
it cannot convert by abort()) or a predictor that segfaults costs only its cell, and the
stage it died in is known. A child's fd 1 and 2 go to <out_dir>/<stage>.log; its first fatal
line is the cell's error.

Python 3.7 syntax, stdlib + numpy + the tool only (tools: deploy_tools.py).
"""
import io
import json
import os
import platform
import re
import sys
import time
import traceback

import numpy  # noqa: F401  numpy before any paddle (see __init__.py)
import numpy.random  # noqa: F401

from harness.inside import PROTOCOL_VERSION
from harness.inside.common import (cpu, exception_record, installed_packages, protocol_channel, run_task_feeds,
                                   signal_name, wait_child)
from harness.inside.deploy_tools import TOOLS, onnx_opsets, program_summary, tool_fingerprint

STAGES = ("convert", "run")
FATAL = re.compile(r"^\[F |\[ERROR\]|Check failed|terminate called")
PROBLEM = re.compile(r"Error|ERROR|error:|not supported|[Ff]ailed|Aborted")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Times make the same error a new one every run: "2026-12-01 15:47:27 [ERROR] ...",
# Paddle-Lite's "[F 12/ 1 15:43:58.934 ...e-Lite/lite/...:118 GetAttr] ...".
STAMPS = (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,\d+)?\s*"),
          re.compile(r"^\[([FEWI])\s+\d+/\s*\d+\s+\d+:\s*\d+:\s*\d+\.\s*\d+\s+"))


def stable(line):
    line = ANSI.sub("", line).strip()
    line = STAMPS[0].sub("", line)
    return STAMPS[1].sub(r"[\1 ", line)


def log_error(text):
    """The line a person greps for in a child's C++ output: the first fatal-looking one."""
    lines = [line for line in (stable(raw) for raw in text.splitlines()) if line]
    for pattern in (FATAL, PROBLEM):
        for line in lines:
            if pattern.search(line):
                return line
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- the stages (in a child)

def stage_convert(tool, task, result):
    started = time.time()
    tool.convert(task)
    artifact = task["artifact"]
    if not os.path.isfile(artifact):
        raise RuntimeError("the converter returned without writing %s" % artifact)
    result.update(artifact_bytes=os.path.getsize(artifact), convert_s=time.time() - started)
    if artifact.endswith(".onnx"):
        result["onnx_opsets"] = onnx_opsets(artifact)


def stage_run(tool, task, result, mark):
    mark("load")
    started = time.time()
    if not os.path.isfile(task["artifact"]):
        raise RuntimeError("there is no converted model at %s" % task["artifact"])
    runner, calls = tool.load(task, task["artifact"])
    result["load_calls"] = calls
    result["load_s"] = time.time() - started
    mark("run")
    started = time.time()
    run_task_feeds(runner, task, result)
    result["run_s"] = time.time() - started


def _child_body(tool, task, stage, result_path, log_path):
    """Point fd 1 and 2 at the stage's log, run the stage, write its result file."""
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(2), "wb", 0), write_through=True)
    stage_path = result_path + ".stage"
    result = {"ok": False}

    def mark(name):
        with open(stage_path, "w") as handle:
            handle.write(name)

    mark(stage)
    try:
        if stage == "convert":
            stage_convert(tool, task, result)
        else:
            stage_run(tool, task, result, mark)
        result["ok"] = True
    except SystemExit as exc:  # paddle2onnx 2.x logs its error, then calls sys.exit(-1)
        result.update(error="SystemExit(%s)" % (exc.code,), log=traceback.format_exc(), error_from_log=True)
    except Exception as exc:  # a stage failure is a cell state
        result.update(exception_record(exc))
    if not result["ok"]:
        with open(stage_path) as handle:
            result["stage"] = handle.read()
    with open(result_path + ".tmp", "w") as handle:
        json.dump(result, handle)
    os.rename(result_path + ".tmp", result_path)


def _tail(path, limit=20000):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IOError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def _read(path, default=""):
    try:
        with open(path) as handle:
            return handle.read() or default
    except IOError:
        return default


def run_stage(tool, task, stage, timeout):
    """{"ok", ...} of one stage run in a forked child; its death is {"crashed": signal,
    "stage", "error"}, its overrun {"timeout": True, "stage"}; "log" is its output."""
    log_path = os.path.join(task["out_dir"], "%s.log" % stage)
    result_path = os.path.join(task["out_dir"], "%s.result.json" % stage)
    started = time.time()
    if not hasattr(os, "fork"):  # no isolation here: a crash takes the worker down
        _child_body(tool, task, stage, result_path, log_path)
        status, timed_out = 0, False
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: leave without running the parent's cleanup
            code = 1
            try:
                _child_body(tool, task, stage, result_path, log_path)
                code = 0
            finally:
                os._exit(code)
        status, timed_out = wait_child(pid, timeout)
    log = _tail(log_path)
    found = {"wall_s": time.time() - started, "log": log, "stage": _read(result_path + ".stage", stage)}
    if timed_out:
        return dict(found, timeout=True)
    if os.WIFSIGNALED(status) or not os.path.exists(result_path):
        how = signal_name(os.WTERMSIG(status)) if os.WIFSIGNALED(status) else "exit status %d" % os.WEXITSTATUS(status)
        return dict(found, crashed=how, error=log_error(log))
    with open(result_path) as handle:
        result = json.load(handle)
    found.update(result)
    if not result["ok"]:
        # The exception's own text, unless the tool said more in its log (paddle2onnx logs
        # the real error before exiting or returning nothing).
        vague = result.pop("error_from_log", False) or "returned no model" in result.get("error", "")
        if vague and log_error(log):
            found["error"] = log_error(log)
        found["log"] = (result.get("log") or "") + "\n--- %s.log ---\n%s" % (stage, log)
    return found


def _fresh(out_dir, stages):
    """The cell's directory, without what an earlier run of these stages left."""
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    stale = [s + suffix for s in stages for suffix in (".log", ".result.json", ".result.json.stage")]
    if "convert" in stages:
        stale += ["model.nb", "model.onnx"]
    for name in stale:
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            os.remove(path)


def run_task(tool, task):
    """The reply to one task: each stage in its own child, within the task's time."""
    program = task["program"]
    reply = {"event": "done", "id": task.get("id"), "ok": False, "tool": tool.name, "tool_version": tool.version,
             "option": tool.describe(task), "host_arch": platform.machine(),
             "program_format": {".pdmodel": "legacy", ".json": "pir"}.get(os.path.splitext(program)[1], "?")}
    reply.update(tool.command(task))
    summary = program_summary(program)
    if summary:
        reply["program_ops"] = summary["op_types"]
    task = dict(task, artifact=reply["artifact"])
    stages = [s for s in STAGES if s in (task.get("stages") or STAGES)]
    _fresh(task["out_dir"], stages)
    deadline = time.time() + float(task.get("timeout_s") or 600)
    logs = []
    for stage in stages:
        result = run_stage(tool, task, stage, max(0.0, deadline - time.time()))
        logs.append("=== %s (%.2f s) ===\n%s" % (stage, result.pop("wall_s"), result.pop("log")))
        if result.get("timeout"):
            reply.update(event="timeout", stage=result["stage"])
            break
        if result.get("crashed"):
            reply.update(event="crashed", signal=result["crashed"], stage=result["stage"], error=result["error"])
            break
        ok = result.pop("ok")
        reply.update(result)
        if not ok:
            break
    else:
        reply["ok"], reply["stage"] = True, None
    reply["log"] = "\n".join(logs)
    return reply


# ---------------------------------------------------------------- entry points

def probe(tool_name):
    """The runtime's fingerprint: Python, numpy, every package, and what the tool says."""
    found = {"python": platform.python_version(), "platform": platform.platform(), "numpy": numpy.__version__,
             "packages": installed_packages(), "capabilities": {"fork": hasattr(os, "fork")}, "cpu": cpu()}
    found.update(tool_fingerprint(TOOLS[tool_name]()))
    return found


def serve(tool_name, stdin):
    channel = protocol_channel()

    def send(message):
        message["v"] = PROTOCOL_VERSION
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    started = time.time()
    tool = TOOLS[tool_name]()
    send({"event": "ready", "tool": tool.name, "tool_version": tool.version, "pid": os.getpid(),
          "import_s": time.time() - started, "python": platform.python_version(),
          "isolation": "fork" if hasattr(os, "fork") else "none"})
    for line in stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        send({"event": "start", "id": task.get("id")})
        send(run_task(tool, task))
    return 0
