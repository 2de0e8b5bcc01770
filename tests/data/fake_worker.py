"""A paddle-free stand-in for harness.inside.worker speaking the same protocol.

Words in the task id decide what happens: "crash" dies by SIGSEGV after announcing the
task, "childcrash" reports a crashed child the way the forking worker does, "flaky" does that
only the first time a task id is seen, "hang" never answers, "noise" prints junk on stdout first, anything else answers
ok, with the export's reference.npz as its outputs when the task names an export.
"""

import json
import os
import signal
import sys
import time

import numpy


def outputs(task):
    """The producer's own reference, so the host's verdict sees a perfect match."""
    if "program" not in task:
        return []
    with numpy.load(os.path.join(os.path.dirname(task["program"]), "reference.npz")) as ref:
        arrays = [(name, ref[name]) for name in ref.files]  # "output_i" and "output_i@k" (scene k)

    def scene(name):
        head, _, k = name.rpartition("@")
        return int(k) if head and k.isdigit() else 0

    arrays.sort(key=lambda item: (scene(item[0]), int(item[0].split("@")[0].rpartition("_")[2])))
    return [
        {"name": n, "scene": scene(n), "dtype": str(a.dtype), "shape": list(a.shape), "data": a.ravel().tolist()}
        for n, a in arrays
    ]


out = sys.stdout
out.write(json.dumps({"event": "ready", "v": 1, "pid": os.getpid()}) + "\n")
out.flush()
seen = set()
for line in sys.stdin:
    task = json.loads(line)
    first_time = task["id"] not in seen
    seen.add(task["id"])
    out.write(json.dumps({"event": "start", "id": task["id"], "v": 1}) + "\n")
    out.flush()
    if "childcrash" in task["id"] or ("flaky" in task["id"] and first_time):
        out.write(json.dumps({"event": "crashed", "id": task["id"], "signal": "SIGSEGV", "v": 1}) + "\n")
        out.flush()
        continue
    if "crash" in task["id"]:
        sys.stderr.write("FatalError: `Segmentation fault` is detected by the operating system.\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    if "hang" in task["id"]:
        time.sleep(3600)
    if "noise" in task["id"]:
        out.write("I am not JSON\n")
    sys.stderr.write("log for %s\n" % task["id"])
    sys.stderr.flush()
    reply = {"event": "done", "id": task["id"], "ok": True, "stage": None, "pid": os.getpid(), "v": 1}
    reply["outputs"] = outputs(task)
    out.write(json.dumps(reply) + "\n")
    out.flush()
