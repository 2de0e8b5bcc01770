"""Post-training INT8 quantization in the producer, and what the saved program holds.

``paddle.quantization`` (PTQ + QuantConfig + AbsmaxObserver, the same API in 2.6-3.3)
quantizes the trained dygraph model: observers on every Conv2D and Linear, calibrated on
the calibration split (evalset.calibration_images, never evaluated on), then converted to
quantize_linear/dequantize_linear pairs, which jit.save writes into the program. Weights
stay float32 in .pdiparams (fake-quantized values): the count of INT8 tensors says so.

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
        "int8_weights": int8_weights(converted),
    }
    return converted, info


def int8_weights(layer):
    """How many of the layer's parameters and buffers are INT8 tensors."""
    return sum(1 for value in layer.state_dict().values() if "int8" in str(value.dtype))


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
