"""Post-training INT8 quantization in the producer, and what the saved program holds.

``paddle.quantization`` (PTQ + QuantConfig + AbsmaxObserver, the same API in 2.6-3.3)
quantizes the trained dygraph model: observers on every Conv2D and Linear, calibrated on
the calibration split (evalset.calibration_images, never evaluated on), then converted to
quantize_linear/dequantize_linear pairs, which jit.save writes into the program. Weights
stay float32 in .pdiparams (fake-quantized values): the INT8 tensors counted in the params
file (params_dtypes) say so.

What the export holds is measured from the saved files, not assumed: a legacy program's
ops from its ProgramDesc, a PIR program's from its .json. An export whose program has no
quantize/dequantize op is not quantized, whatever the mode asked.

Python 3.7 syntax, stdlib + numpy + paddle only, feature detection over versions.
"""

import collections
import json
import os
import re

import numpy  # noqa: F401  numpy (and numpy.random) before paddle: see models.py
import numpy.random  # noqa: F401

QUANT_OPS = ("quantize_linear", "dequantize_linear")
_PIR_OP = re.compile(r'"#":"\d+\.([a-z_0-9]+)"')
_PIR_NOT_OPS = ("a_", "t_")  # attribute and type tags share the "#" key with ops


def ptq_api():
    """(PTQ, QuantConfig, AbsmaxObserver) of this Paddle, or the ImportError saying why not."""
    try:
        from paddle.quantization import PTQ, QuantConfig
        from paddle.quantization.observers import AbsmaxObserver
    except ImportError as exc:
        return None, "this Paddle has no paddle.quantization PTQ (%s)" % exc
    return (PTQ, QuantConfig, AbsmaxObserver), ""


def ptq_int8(model, calibration_feeds):
    """The model quantized in place (a copy would deep-copy whatever the model holds, and
    ppdet's models hold modules, which do not copy): observers calibrated on each of
    ``calibration_feeds`` (lists of call arguments), then converted. Returns (layer, info);
    the caller has used the FP32 model for everything it needed first."""
    api, why = ptq_api()
    if api is None:
        raise RuntimeError(why)
    PTQ, QuantConfig, AbsmaxObserver = api
    import paddle  # only here: the host imports this module's counting helpers without it

    observer = AbsmaxObserver(quant_bits=8)
    # Conv2D and Linear only, the layers PaddleSlim's PTQ quantizes (conv2d, depthwise_conv2d,
    # mul, matmul): a global config also wraps nn.Embedding, whose .weight model code reads
    # directly (ppdet's DINO: level_embed.weight[i] -> 'ObserveWrapper' has no attribute 'weight').
    config = QuantConfig(activation=None, weight=None)
    config.add_type_config([paddle.nn.Conv2D, paddle.nn.Linear], activation=observer, weight=observer)
    ptq = PTQ(config)
    observed = ptq.quantize(model, inplace=True)
    observed.eval()
    for feeds in calibration_feeds:
        observed(*feeds)
    converted = ptq.convert(observed, inplace=True)
    converted.eval()
    info = {
        "quantizer": "paddle.quantization.PTQ",
        "observer": "AbsmaxObserver(quant_bits=8)",
        "layers": ["Conv2D", "Linear"],
        "calibration_images": len(calibration_feeds),
    }
    return converted, info


def program_ops(out_dir, program_file):
    """{op type: count} of the saved program (legacy .pdmodel or PIR .json); None when it
    cannot be read here."""
    path = os.path.join(out_dir, program_file)
    if program_file.endswith(".json"):
        with open(path) as handle:
            text = json.dumps(json.load(handle), separators=(",", ":"))
        return dict(collections.Counter(name for name in _PIR_OP.findall(text) if not name.startswith(_PIR_NOT_OPS)))
    from harness.inside.inspect_model import read_program_desc

    _, desc = read_program_desc(path)
    if desc is None:
        return None
    return dict(collections.Counter(op.type for block in desc.blocks for op in block.ops))


def quant_op_counts(ops):
    """The quantize/dequantize ops (QDQ or the older fake_* ops) among {op: count}."""
    return {name: n for name, n in sorted((ops or {}).items()) if name in QUANT_OPS or name.startswith("fake_")}


def slim_int8(out_dir, program_dir, feeds_of, images):
    """PaddleSlim's post-training quantization (quant_post_static, abs-max, QDQ "onnx format":
    INT8 weights) of the FP32 legacy program saved in ``program_dir``, written to ``out_dir``
    as model.pdmodel / model.pdiparams. ``feeds_of(image)``: one calibration image's feeds."""
    import paddle
    from paddleslim.quant import quant_post_static  # the requires of this export mode

    # Paddle 2.6's PostTrainingQuantization asserts isinstance(data_loader, paddle.io.DataLoader)
    # and then calls data_loader() for the batches (3.x takes any callable): a DataLoader
    # subclass that is only that callable.
    loader_class = type("CallableLoader", (paddle.io.DataLoader,), {
        "__init__": lambda self, batches: setattr(self, "_batches", batches),
        "__call__": lambda self: iter(self._batches),
        "__len__": lambda self: len(self._batches),
    })
    batches = [feeds_of(image) for image in images]
    paddle.enable_static()
    try:
        quant_post_static(
            executor=paddle.static.Executor(paddle.CPUPlace()), model_dir=program_dir,
            quantize_model_path=out_dir, data_loader=loader_class(batches),
            model_filename="model.pdmodel", params_filename="model.pdiparams",
            save_model_filename="model.pdmodel", save_params_filename="model.pdiparams",
            batch_nums=len(batches), algo="abs_max", onnx_format=True,
            quantizable_op_type=["conv2d", "depthwise_conv2d", "mul", "matmul", "matmul_v2"])
    finally:
        paddle.disable_static()
    from harness.inside.common import package_version
    return {"quantizer": "paddleslim.quant.quant_post_static",
            "paddleslim_version": package_version("paddleslim") or "unknown",
            "algo": "abs_max", "onnx_format": True, "calibration_images": len(batches)}


_DTYPE_BYTES = {"FP32": 4, "FP64": 8, "FP16": 2, "BF16": 2, "INT64": 8, "INT32": 4, "INT16": 2, "INT8": 1,
                "UINT8": 1, "BOOL": 1}


def params_dtypes(path):
    """{dtype name: tensors} of a combined .pdiparams, read from its own tensor headers (what is
    stored, which may differ from what the program declares: PaddleSlim keeps FP32 var descs
    for its INT8 weights). None where the file is not in the format read here."""
    import struct
    from harness.inside.inspect_model import framework_proto
    proto = framework_proto()
    if proto is None:
        return None
    names = {value: name for name, value in proto.VarType.Type.items()}
    found = collections.Counter()
    with open(path, "rb") as handle:
        data = handle.read()
    pos = 0
    try:
        while pos < len(data):
            pos += 4  # LoDTensor version
            (levels,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            for _ in range(levels):
                (size,) = struct.unpack_from("<Q", data, pos)
                pos += 8 + size
            pos += 4  # Tensor version
            (size,) = struct.unpack_from("<i", data, pos)
            desc = proto.VarType.TensorDesc.FromString(data[pos + 4:pos + 4 + size])
            pos += 4 + size
            name = names.get(desc.data_type, str(desc.data_type))
            count = 1
            for dim in desc.dims:
                count *= dim
            pos += count * _DTYPE_BYTES[name]
            found[name] += 1
    except (struct.error, KeyError, ValueError):
        return None
    return dict(found) if pos == len(data) else None
