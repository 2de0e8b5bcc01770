"""The deployment tools a deployment consumer's worker drives (see deploy.py).

- "lite": Paddle-Lite. convert = paddlelite.lite.Opt (what `paddle_lite_opt` runs) to a
  naive_buffer model.nb for task["target"] (valid_targets: "x86", "arm", "arm,x86");
  load = MobileConfig + create_paddle_predictor; run = get_input / run / get_output.
- "onnx": paddle2onnx + ONNX Runtime. convert = paddle2onnx at task["opset"] (never
  auto-upgraded: the declared opset is the one tried) to model.onnx; load =
  onnxruntime.InferenceSession on the CPUExecutionProvider; run = session.run.
  paddle2onnx 1.x is driven through its C++ core alone (its package imports paddle, which
  such a runtime does not hold); 2.x links libpaddle.so and translates .pdmodel to PIR
  with paddle itself, so its runtime holds a pinned Paddle 3 and imports it once.

Which program formats a tool reads is found by trying: a PIR .json given to a tool that
reads only ProgramDesc fails in the tool, with the tool's own words.

Python 3.7 syntax, stdlib + numpy + the tool only.
"""
import os

import numpy
import numpy.random  # noqa: F401  numpy before any paddle (see __init__.py)

from harness.inside.common import package_version


# ---------------------------------------------------------------- protobuf (no dependency)
# Just enough of the protobuf wire format to read a ProgramDesc's feeds, fetches and op
# types, and an ONNX model's opsets, without paddle or onnx installed.

def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """(field number, value) of one message: int for varints, memoryview otherwise."""
    buf = memoryview(buf)
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)
        yield number, value


def _text(value):
    return bytes(value).decode("utf-8", "replace")


def _op_summary(op):
    """(type, input names, output names, col attribute) of one OpDesc."""
    op_type, col, names = "", 0, {1: [], 2: []}
    for number, value in _fields(op):
        if number in (1, 2):  # OpDesc.inputs / outputs: Var {parameter, arguments}
            names[number] += [_text(v) for n, v in _fields(value) if n == 2]
        elif number == 3:
            op_type = _text(value)
        elif number == 4:  # Attr {name=1, type=2, i=3}
            attr = dict(_fields(value))
            if _text(attr.get(1, b"")) == "col" and 3 in attr:
                col = attr[3]
    return op_type, names[1], names[2], col


def program_summary(path):
    """A legacy .pdmodel's feed names (by col), fetch names (by col) and op types of block 0;
    None for anything else (a PIR .json program, a file that is not a ProgramDesc)."""
    if not path.endswith(".pdmodel") or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return _summary(data)
    except (ValueError, IndexError, UnicodeError):
        return None  # not what the reader understands: the tool will say what it is


def _summary(data):
    for number, block in _fields(data):
        if number != 1:  # ProgramDesc.blocks; block 0 comes first
            continue
        feeds, fetches, types = [], [], set()
        for bnum, op in _fields(block):
            if bnum != 4:  # BlockDesc.ops
                continue
            op_type, inputs, outputs, col = _op_summary(op)
            types.add(op_type)
            if op_type == "feed" and outputs:
                feeds.append((col, outputs[0]))
            elif op_type == "fetch" and inputs:
                fetches.append((col, inputs[0]))
        return {"feeds": [n for _, n in sorted(feeds)], "fetches": [n for _, n in sorted(fetches)],
                "op_types": sorted(types - {"feed", "fetch"})}
    return None


def onnx_opsets(path):
    """{domain: version} of an ONNX model's opset_import (ModelProto field 8)."""
    with open(path, "rb") as handle:
        data = handle.read()
    found = {}
    for number, value in _fields(data):
        if number == 8:
            entry = dict(_fields(value))
            found[_text(entry.get(1, b"")) or "ai.onnx"] = entry.get(2)
    return found


def _feed_order(feeds, names):
    """The arrays in the order of the program's inputs: by name where it kept them, else
    by position (input.npz keeps the program's input order)."""
    values = list(feeds.values())
    return [feeds[n] if n in feeds else values[i] for i, n in enumerate(names)]


# ---------------------------------------------------------------- Paddle-Lite

# Tensor.from_numpy of the Python 3.9 wheels (2.10, 2.13rc0; built against numpy 1) reads
# garbage when numpy 2 is installed, silently: the list setters do not go through numpy.
_LITE_SETTERS = {"float32": "set_float_data", "int32": "set_int32_data", "int8": "set_int8_data",
                 "uint8": "set_uint8_data"}


def feed_lite(tensor, array):
    array = numpy.ascontiguousarray(array)
    setter = _LITE_SETTERS.get(str(array.dtype))
    if setter is None:  # int64 and the like: only from_numpy takes them
        tensor.from_numpy(array)
        return
    tensor.resize(list(array.shape))
    getattr(tensor, setter)(array.ravel().tolist())


def read_lite(tensor):
    """A copy of an output. Tensor.numpy() reads right under numpy 2; on an output no kernel
    wrote (an arm .nb run by the x86 wheel) it returns the uninitialised buffer, which the
    host then judges, where float_data() would abort the process."""
    return numpy.array(tensor.numpy(), copy=True)


class LiteTool(object):
    name = "lite"

    def __init__(self):
        import paddlelite.lite as lite
        self.lite = lite
        self.package_version = package_version("paddlelite")
        self.version = "paddlelite %s (opt %s)" % (self.package_version or "?", lite.Opt().version())

    def describe(self, task):
        return "valid_targets=%s" % task["target"]

    def command(self, task):
        """Where the converted model goes, the optimizer's command line, the calls made."""
        out = os.path.join(task["out_dir"], "model")
        program, params, target = task["program"], task["params"], task["target"]
        flags = ["paddle_lite_opt", "--model_file=" + program, "--param_file=" + params,
                 "--valid_targets=" + target, "--optimize_out_type=naive_buffer", "--optimize_out=" + out]
        calls = ["opt = paddlelite.lite.Opt()", "opt.set_model_file(%r)" % program, "opt.set_param_file(%r)" % params,
                 "opt.set_valid_places(%r)" % target, "opt.set_model_type('naive_buffer')",
                 "opt.set_optimize_out(%r)" % out, "opt.run()"]
        return {"artifact": out + ".nb", "convert_flags": flags, "convert_calls": calls}

    def convert(self, task):
        opt = self.lite.Opt()
        opt.set_model_file(task["program"])
        opt.set_param_file(task["params"])
        opt.set_valid_places(task["target"])
        opt.set_model_type("naive_buffer")
        opt.set_optimize_out(os.path.join(task["out_dir"], "model"))
        opt.run()  # a model it cannot convert: a "[F ...] Check failed" line, then abort()

    def load(self, task, artifact):
        config = self.lite.MobileConfig()
        config.set_model_from_file(artifact)
        predictor = self.lite.create_paddle_predictor(config)
        summary = program_summary(task["program"]) or {}
        if hasattr(predictor, "get_output_names"):
            out_names = list(predictor.get_output_names())
        else:  # Lite <= 2.10 cannot list outputs: the program's fetch ops say how many
            out_names = summary.get("fetches") or []
        if not out_names:
            raise RuntimeError("cannot tell the outputs of %s (no get_output_names, no fetch ops read)" % artifact)
        if hasattr(predictor, "get_input_names"):
            in_names = list(predictor.get_input_names())
        else:
            in_names = summary.get("feeds") or []

        def run(feeds):
            for i, array in enumerate(_feed_order(feeds, in_names or list(feeds))):
                feed_lite(predictor.get_input(i), array)
            predictor.run()
            return [(n, read_lite(predictor.get_output(i))) for i, n in enumerate(out_names)]
        calls = ["config = paddlelite.lite.MobileConfig()", "config.set_model_from_file(%r)" % artifact,
                 "predictor = paddlelite.lite.create_paddle_predictor(config)",
                 "predictor.get_input(i).resize(shape); .set_float_data(list)", "predictor.run()",
                 "predictor.get_output(i).numpy()"]
        return run, calls


# ---------------------------------------------------------------- paddle2onnx + ONNX Runtime

def _package_dir(name):
    import importlib.util
    spec = importlib.util.find_spec(name)  # does not run the package's __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("no %s package on sys.path" % name)
    return list(spec.submodule_search_locations)[0]


class OnnxTool(object):
    name = "onnx"

    def __init__(self):
        import onnxruntime
        self.ort = onnxruntime
        self.package_dir = _package_dir("paddle2onnx")
        self.p2o_version = package_version("paddle2onnx") or "?"
        major = self.p2o_version.split(".")[0]
        self.core = self.api = self.paddle = None
        if major.isdigit() and int(major) >= 2:
            # 2.x links libpaddle.so and translates .pdmodel with paddle: import both here,
            # once, so that every forked convert child has them.
            import paddle
            import paddle2onnx
            self.paddle, self.api = paddle, paddle2onnx
        else:
            self.core = self._load_core()
        linked = " (paddle %s)" % self.paddle.__version__ if self.paddle is not None else ""
        self.version = "paddle2onnx %s%s + onnxruntime %s" % (self.p2o_version, linked, onnxruntime.__version__)

    def _load_core(self):
        """paddle2onnx 1.x's C++ core, without its package __init__ (which imports paddle)."""
        import importlib.util
        names = sorted(n for n in os.listdir(self.package_dir) if n.startswith("paddle2onnx_cpp2py_export"))
        if not names:
            raise ImportError("no paddle2onnx_cpp2py_export extension in %s" % self.package_dir)
        spec = importlib.util.spec_from_file_location("paddle2onnx_cpp2py_export",
                                                      os.path.join(self.package_dir, names[0]))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def describe(self, task):
        return "opset_version=%d" % int(task["opset"])

    def command(self, task):
        """Where the converted model goes, the converter's command line, the call made."""
        opset = int(task["opset"])
        program, params = task["program"], task["params"]
        artifact = os.path.join(task["out_dir"], "model.onnx")
        flags = ["paddle2onnx", "--model_dir=" + os.path.dirname(program),
                 "--model_filename=" + os.path.basename(program), "--params_filename=" + os.path.basename(params),
                 "--save_file=" + artifact, "--opset_version=%d" % opset, "--enable_auto_update_opset=False"]
        if self.core is not None:
            calls = ["paddle2onnx_cpp2py_export.export(%r, %r, %d, auto_upgrade_opset=False, verbose=True, "
                     "enable_onnx_checker=True, enable_experimental_op=True, enable_optimize=True)"
                     % (program, params, opset)]
        else:
            # save_file=None returns the bytes and runs no optimizer (the CLI's default one
            # tries to pip-install onnx_graphsurgeon at run time).
            flags.append("--optimize_tool=None")
            calls = ["paddle2onnx.export(%r, %r, save_file=None, opset_version=%d, auto_upgrade_opset=False, "
                     "verbose=True)" % (program, params, opset)]
        return {"artifact": artifact, "convert_flags": flags, "convert_calls": calls}

    def convert(self, task):
        opset = int(task["opset"])
        if self.core is not None:
            # export(model, params, opset, auto_upgrade_opset, verbose, enable_onnx_checker,
            #        enable_experimental_op, enable_optimize, custom_ops, deploy_backend,
            #        calibration_file, external_file, export_fp16_model)
            data = self.core.export(task["program"], task["params"], opset, False, True, True, True, True,
                                    {}, "onnxruntime", "", "", False)
        else:  # 2.x logs its own errors, then calls sys.exit(-1)
            data = self.api.export(task["program"], task["params"], None, opset_version=opset,
                                   auto_upgrade_opset=False, verbose=True)
        if not data:
            raise RuntimeError("paddle2onnx returned no model")
        with open(os.path.join(task["out_dir"], "model.onnx"), "wb") as handle:
            handle.write(data)

    def load(self, task, artifact):
        options = self.ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = self.ort.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
        in_names = [i.name for i in session.get_inputs()]
        out_names = [o.name for o in session.get_outputs()]

        def run(feeds):
            arrays = [numpy.ascontiguousarray(a) for a in _feed_order(feeds, in_names)]
            return list(zip(out_names, session.run(out_names, dict(zip(in_names, arrays)))))
        calls = ["session = onnxruntime.InferenceSession(%r, providers=['CPUExecutionProvider'])" % artifact,
                 "session.run(output_names, feeds)"]
        return run, calls


TOOLS = {"lite": LiteTool, "onnx": OnnxTool}


def tool_fingerprint(tool):
    """What a deployment tool says about itself, for the runtime's fingerprint."""
    found = {"tool": tool.name, "tool_version": tool.version}
    paddle = getattr(tool, "paddle", None)
    if paddle is not None:  # the Paddle paddle2onnx 2.x links: part of the consumer
        found["paddle_version"] = paddle.__version__
        found["paddle_commit"] = getattr(getattr(paddle, "version", None), "commit", "")
    if getattr(tool, "ort", None) is not None:
        found["onnxruntime"] = tool.ort.__version__
        found["onnxruntime_providers"] = list(tool.ort.get_available_providers())
    return found

