"""python -m harness.inside inspect PROGRAM PARAMS: what a saved program takes and returns.

Prints one JSON line and exits 0:
  {"ok": true, "inputs": [{"name", "shape", "dtype"}], "outputs": [names],
   "written_by": "2.6.2" or null, "paddle_version": "..."}
or, when this Paddle cannot read the program, the verbatim error and exits 1:
  {"ok": false, "error": first line, "log": traceback}

The program is read by paddle.inference, as a user's deployment would. A shape is null
when nothing in this Paddle says it; -1 marks a dimension the program leaves open.
"""
import importlib
import json
import sys

import numpy  # noqa: F401  numpy (and numpy.random) before paddle: see __init__.py
import numpy.random  # noqa: F401

import paddle

from harness.inside.common import exception_record, protocol_channel

# ProgramDesc data types (framework.proto) as numpy dtype names.
PROTO_DTYPES = {"FP32": "float32", "FP64": "float64", "FP16": "float16", "BF16": "bfloat16", "INT64": "int64",
                "INT32": "int32", "INT16": "int16", "INT8": "int8", "UINT8": "uint8", "BOOL": "bool"}


def framework_proto():
    """The ProgramDesc protobuf module, wherever this Paddle keeps it (None if nowhere)."""
    for name in ("paddle.base.proto.framework_pb2", "paddle.fluid.proto.framework_pb2",
                 "paddle.framework.proto.framework_pb2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def read_program_desc(path):
    proto = framework_proto()
    if proto is None:
        return None, None
    with open(path, "rb") as handle:
        return proto, proto.ProgramDesc.FromString(handle.read())


def tensor_desc(var):
    """The tensor description of a variable: `lod_tensor` before Paddle 3, `dense_tensor` after."""
    fields = [f.name for f in var.type.DESCRIPTOR.fields]
    for kind in ("dense_tensor", "lod_tensor"):
        if kind in fields and var.type.HasField(kind):
            return getattr(var.type, kind).tensor
    return None


def legacy_declared(desc, proto):
    """{input name: (shape, dtype)} from a legacy program's feed variables.

    A legacy predictor reports shape [0] until it is fed, so the declared shape is read
    from the ProgramDesc itself."""
    block = desc.blocks[0]
    found = {}
    for var in block.vars:
        tensor = tensor_desc(var)
        if tensor is None:
            continue
        dtype_name = proto.VarType.Type.Name(tensor.data_type)
        found[var.name] = ([int(d) for d in tensor.dims], PROTO_DTYPES.get(dtype_name, dtype_name.lower()))
    return found


def pir_declared(program):
    """{input name: (shape, dtype)} from a PIR program's data ops. Its predictor reports
    [0] for any input with an open dimension, so the program is loaded the static way."""
    static = getattr(paddle.static, "load_inference_model", None)
    if static is None or not program.endswith(".json"):
        return {}
    paddle.enable_static()
    try:
        loaded = static(program[:-len(".json")], paddle.static.Executor(paddle.CPUPlace()))
    finally:
        paddle.disable_static()
    found = {}
    for op in loaded[0].global_block().ops:
        if not hasattr(op, "attrs") or op.name() not in ("pd_op.data", "pd_op.feed"):
            continue
        attrs = op.attrs()
        shape = attrs.get("shape")
        if shape is None:
            shape = op.result(0).shape
        dtype = str(attrs.get("dtype", op.result(0).dtype)).replace("paddle.", "")
        found[attrs.get("name")] = ([int(d) for d in shape], dtype)
    return found


def declared_shapes(program):
    """What the program itself declares; {} when this Paddle cannot say."""
    try:
        if program.endswith(".pdmodel"):
            proto, desc = read_program_desc(program)
            return legacy_declared(desc, proto) if desc is not None else {}
        return pir_declared(program)
    except Exception:  # the predictor read it; missing shapes are asked for on the host
        return {}


def legacy_version(program):
    """The Paddle version a legacy program records (2006002 -> "2.6.2"), or None.
    PIR programs record only their own schema version."""
    try:
        desc = read_program_desc(program)[1] if program.endswith(".pdmodel") else None
    except Exception:
        return None
    if desc is None or not desc.HasField("version") or not desc.version.version:
        return None
    number = int(desc.version.version)
    return "%d.%d.%d" % (number // 1000000, number // 1000 % 1000, number % 1000)


def handle_shape(handle):
    """A PIR predictor reports the declared shape; an unfed legacy one reports [0]."""
    try:
        shape = [int(d) for d in handle.shape()]
    except Exception:
        return None
    return shape if shape and shape != [0] else None


def handle_dtype(handle):
    try:
        kind = handle.type()
    except Exception:
        return None
    name = getattr(kind, "name", None) or str(kind).split(".")[-1]
    return name.lower() if name else None


def quiet_config(config):
    """Inspection only needs the signature: no log spam and no IR passes to run."""
    for method, args in (("disable_glog_info", ()), ("switch_ir_optim", (False,))):
        if hasattr(config, method):
            getattr(config, method)(*args)


def inspect_program(program, params):
    config = paddle.inference.Config(program, params)
    quiet_config(config)
    predictor = paddle.inference.create_predictor(config)
    declared = declared_shapes(program)
    inputs = []
    for name in predictor.get_input_names():
        handle = predictor.get_input_handle(name)
        shape, dtype = declared.get(name, (None, None))
        inputs.append({"name": name, "shape": shape or handle_shape(handle), "dtype": handle_dtype(handle) or dtype})
    return {"ok": True, "inputs": inputs, "outputs": list(predictor.get_output_names()),
            "written_by": legacy_version(program), "paddle_version": paddle.__version__}


def main(argv):
    channel = protocol_channel()  # whatever Paddle prints goes to stderr, not into the answer
    if len(argv) != 2:
        sys.stderr.write("usage: python -m harness.inside inspect PROGRAM PARAMS\n")
        return 2
    try:
        answer = inspect_program(argv[0], argv[1])
    except Exception as exc:  # a program this Paddle cannot read is an answer, not a bug
        answer = dict(exception_record(exc), ok=False, paddle_version=paddle.__version__)
    channel.write(json.dumps(answer) + "\n")
    channel.flush()
    return 0 if answer["ok"] else 1
