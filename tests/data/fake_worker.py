"""A paddle-free stand-in for harness.inside.worker speaking the same protocol.

Task ids decide what happens: "crash*" dies by SIGSEGV after announcing the task,
"hang*" never answers, "noise*" prints junk on stdout first, anything else answers ok.
"""

import json
import os
import signal
import sys
import time

out = sys.stdout
out.write(json.dumps({"event": "ready", "v": 1, "pid": os.getpid()}) + "\n")
out.flush()
for line in sys.stdin:
    task = json.loads(line)
    out.write(json.dumps({"event": "start", "id": task["id"], "v": 1}) + "\n")
    out.flush()
    if task["id"].startswith("crash"):
        sys.stderr.write("FatalError: `Segmentation fault` is detected by the operating system.\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    if task["id"].startswith("hang"):
        time.sleep(3600)
    if task["id"].startswith("noise"):
        out.write("I am not JSON\n")
    sys.stderr.write("log for %s\n" % task["id"])
    sys.stderr.flush()
    out.write(
        json.dumps({"event": "done", "id": task["id"], "ok": True, "stage": None, "pid": os.getpid(), "v": 1}) + "\n"
    )
    out.flush()
