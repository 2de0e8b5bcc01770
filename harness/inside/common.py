"""Helpers shared by the in-runtime entry points (Python 3.7+, stdlib + numpy)."""
import collections
import json
import os
import re
import signal
import sys
import time
import traceback

import numpy  # numpy (and numpy.random) before paddle: see __init__.py
import numpy.random  # noqa: F401


_ERROR_LINE = re.compile(r"^\(?[A-Za-z_.]*(Error|Exception)\)?:? ")


def error_summary(text):
    """The line a person greps for. Paddle's C++ errors open with a long traceback and
    put the real message after 'Error Message Summary'; dy2static errors open with a
    header ("In transformed code:") and end with the real message."""
    lines = [line.strip() for line in text.splitlines()]
    if "Error Message Summary:" in lines:
        lines = lines[lines.index("Error Message Summary:") + 1:]
    lines = [line for line in lines if line and not set(line) <= set("-=")]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        # A header ("In user code:"): the error's own line (PreconditionNotMetError: ...)
        # where there is one, not a trailing "[operator < ... > error]" context line.
        named = [line for line in lines[1:] if _ERROR_LINE.match(line)]
        return named[0] if named else lines[-1]
    return lines[0]


def exception_record(exc):
    """Verbatim first line (with the exception type) and the full traceback."""
    log = traceback.format_exc()
    summary = error_summary(str(exc))
    name = type(exc).__name__
    if not summary:
        return {"error": name, "log": log}
    if summary.startswith(name + ":"):
        return {"error": summary, "log": log}
    return {"error": "%s: %s" % (name, summary), "log": log}


def scene_of(key):
    """(name, k) of an input.npz key: "image@2" is "image" of scene 2, "image" scene 0."""
    name, sep, k = key.rpartition("@")
    if sep and name and k.isdigit():
        return name, int(k)
    return key, 0


def scenes_of(feeds):
    """input.npz's feeds grouped by scene: [(k, {name: array})], each scene's feeds in the
    file's (the program's) order. A user's model without "@k" keys is one scene."""
    grouped = {}
    for key in feeds:
        name, k = scene_of(key)
        grouped.setdefault(k, []).append((name, feeds[key]))
    return [(k, collections.OrderedDict(grouped[k])) for k in sorted(grouped)]


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def write_json_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def protocol_channel():
    """Keep the real stdout for protocol lines and point fd 1 at stderr, so whatever
    Paddle or its C++ code prints lands in the log instead of corrupting the protocol."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def encode(name, array, scene=0):
    """One output on the wire: its name, the scene it answers, dtype, shape, flat values."""
    array = numpy.asarray(array)
    return {"name": name, "scene": scene, "dtype": str(array.dtype), "shape": list(array.shape),
            "data": array.ravel().tolist()}


def run_feeds(runner, path, reply, evaluation=False):
    """Every scene of a feeds file (input.npz, or eval.npz: one image per "@k") through
    ``runner``, encoded; scene k's outputs are named "<name>@k". While scene k runs,
    reply["scene"] names it, so a failure is pinned on it ("eval k" for evaluation images)."""
    encoded = []
    for k, scene in scenes_of(read_feeds(path)):
        reply["scene"] = "eval %d" % k if evaluation else k
        encoded += [encode(n if k == 0 and not evaluation else "%s@%d" % (n, k), a, k) for n, a in runner(scene)]
    reply.pop("scene", None)
    return encoded


def run_task_feeds(runner, task, reply):
    """The task's fixed scenes into reply["outputs"], then its evaluation images (where the
    export has them) into reply["eval_outputs"]."""
    reply["outputs"] = run_feeds(runner, task["input"], reply)
    if task.get("eval"):
        reply["eval_outputs"] = run_feeds(runner, task["eval"], reply, evaluation=True)


def read_feeds(path):
    """input.npz's arrays in the file's (the program's) order."""
    with numpy.load(path) as data:
        return collections.OrderedDict((k, data[k]) for k in data.files)


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "signal %d" % number


def wait_child(pid, timeout):
    """(status, timed_out) of a forked child, killing it at the deadline."""
    deadline = time.time() + timeout
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, False
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1], True
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def installed_packages():
    """The runtime's pip freeze, as name==version."""
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        try:
            import pkg_resources
        except ImportError:  # a Python 3.7 venv without setuptools (uv makes those)
            return _dist_info_packages()
        return sorted("%s==%s" % (d.project_name, d.version) for d in pkg_resources.working_set)
    return sorted(set("%s==%s" % (d.metadata["Name"], d.version) for d in metadata.distributions()))


def _dist_info_packages():
    """name==version of every *.dist-info / *.egg-info directory on sys.path."""
    found = set()
    for entry in sys.path:
        if not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            stem, dot, kind = name.rpartition(".")
            if dot and kind in ("dist-info", "egg-info") and "-" in stem:
                package, version = stem.split("-", 1)
                found.add("%s==%s" % (package, version.split("-")[0]))
    return sorted(found)


def package_version(name):
    """The installed version of a distribution ("" when it is not installed)."""
    wanted = name.replace("_", "-").lower()
    for line in installed_packages():
        package, _, version = line.partition("==")
        if package.replace("_", "-").lower() == wanted:
            return version
    return ""


# The instruction sets oneDNN's INT8 (and BF16) kernels depend on: VNNI for INT8 dot
# products (AVX-512 or AVX), AMX tiles on newer Xeons; without them INT8 runs emulated.
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")


def cpu():
    """The CPU the runtime computes on, as /proc/cpuinfo says (a container sees the host's)."""
    found = {"model": "", "flags": []}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not found["model"]:
                    found["model"] = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    found["flags"] = [f for f in CPU_FLAGS if f in flags]
                    break
    except OSError:  # not Linux: unknown, said as such
        found["model"] = "unknown"
    return found
