"""python -m harness.inside {probe | train SPEC | export SPEC | worker | inspect PROGRAM PARAMS |
                            deploy-probe TOOL | deploy-worker TOOL}

probe prints one JSON object; train and export read a JSON spec file and write their
results next to their outputs; worker speaks JSON lines on stdin/stdout; inspect prints
one JSON object naming a saved program's inputs (shape, dtype) and outputs. deploy-probe and
deploy-worker do the same as probe and worker in a deployment consumer's runtime (TOOL: lite
or onnx), where paddle may not be installed at all.
"""
import json
import sys

import numpy  # noqa: F401  numpy first, see __init__.py
import numpy.random  # noqa: F401


def main(argv):
    command = argv[0] if argv else ""
    if command == "probe":
        from harness.inside.probe import probe
        sys.stdout.write(json.dumps(probe()) + "\n")
        return 0
    if command in ("train", "export"):
        from harness.inside import export
        from harness.inside.common import read_json
        spec = read_json(argv[1])
        return export.train(spec) if command == "train" else export.export(spec)
    if command == "worker":
        from harness.inside.worker import serve
        return serve(sys.stdin)
    if command in ("deploy-probe", "deploy-worker") and len(argv) == 2:
        from harness.inside import deploy
        if command == "deploy-worker":
            return deploy.serve(argv[1], sys.stdin)
        sys.stdout.write(json.dumps(deploy.probe(argv[1])) + "\n")
        return 0
    if command == "inspect":
        from harness.inside.inspect_model import main as inspect_main
        return inspect_main(argv[1:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
