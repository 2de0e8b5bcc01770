"""Helpers shared by the in-runtime entry points (Python 3.7+, stdlib + numpy)."""
import collections
import json
import os
import sys
import traceback

import numpy  # noqa: F401  numpy (and numpy.random) before paddle: see __init__.py
import numpy.random  # noqa: F401


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
        return lines[-1]
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
