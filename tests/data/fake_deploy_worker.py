"""A paddle-free deployment consumer: the real harness/inside/deploy.py worker (its protocol,
its fork per stage, its log reading) serving a fake "lite" tool instead of Paddle-Lite.

The fake converts by copying the program to model.nb and runs by returning the export's
reference. Words in the export's directory decide otherwise: "abort" makes the converter
print a Paddle-Lite-like fatal line and abort() (as Lite's optimizer does on a model it cannot
convert), "segv" kills the load+run child by SIGSEGV, "raise" makes the run raise.
"""

import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy  # noqa: E402

from harness.inside import deploy  # noqa: E402

FATAL = ("[F 12/ 1 15:43:58.934 ...e-Lite/lite/core/model/general/op_desc.h:118 GetAttr] "
         "Check failed: it != attrs().end(): No attributes called beta found for swish")


class FakeLite(object):
    name = "lite"
    version = "fake-lite 0.1"

    def describe(self, task):
        return "valid_targets=%s" % task["target"]

    def command(self, task):
        out = os.path.join(task["out_dir"], "model")
        flags = ["paddle_lite_opt", "--model_file=" + task["program"], "--valid_targets=" + task["target"]]
        return {"artifact": out + ".nb", "convert_flags": flags, "convert_calls": ["opt.run()"]}

    def convert(self, task):
        if "abort" in task["program"]:
            sys.stderr.write("Loading topology data from %s\n%s\n" % (task["program"], FATAL))
            sys.stderr.flush()
            os.abort()
        shutil.copy(task["program"], os.path.join(task["out_dir"], "model.nb"))

    def load(self, task, artifact):
        if "segv" in task["program"]:
            os.kill(os.getpid(), signal.SIGSEGV)
        with numpy.load(os.path.join(os.path.dirname(task["program"]), "reference.npz")) as ref:
            outputs = [(name, ref[name]) for name in sorted(ref.files)]

        def run(feeds):
            if "raise" in task["program"]:
                raise RuntimeError("the predictor ran out of luck")
            return outputs
        return run, ["MobileConfig()"]


deploy.TOOLS["lite"] = FakeLite
sys.exit(deploy.serve("lite", sys.stdin))
