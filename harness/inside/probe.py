"""Describe a runtime: versions, installed packages, and what its Paddle can do.

Capabilities are detected, never derived from the version string: PIR is switched by a
flag, and full_graph arrived through **kwargs before it was a documented option.
"""
import importlib
import inspect
import platform

import numpy
import numpy.random  # noqa: F401

import paddle

from harness.inside import quantize
from harness.inside.common import cpu, installed_packages


def accepts_full_graph():
    """Whether paddle.jit.to_static reads a full_graph option (2.6 takes it via **kwargs)."""
    to_static = paddle.jit.to_static
    try:
        if "full_graph" in inspect.signature(to_static).parameters:
            return True
        return "full_graph" in inspect.getsource(to_static)
    except (TypeError, ValueError, OSError):
        return False


def can_write_pir():
    """Paddle writes .json PIR programs where it has the PIR translated layer."""
    try:
        return importlib.util.find_spec("paddle.jit.pir_translated_layer") is not None
    except ImportError:
        return False


def pir_enabled():
    """Whether this process runs with the PIR API on (FLAGS_enable_pir_api)."""
    use_pir = getattr(paddle.framework, "use_pir_api", None)
    return bool(use_pir()) if use_pir is not None else False


def capabilities():
    return {
        "full_graph_option": accepts_full_graph(),
        "pir_programs": can_write_pir(),
        "pir_default": pir_enabled(),
        "compiled_with_cuda": bool(paddle.device.is_compiled_with_cuda()),
        "ptq_int8": quantize.ptq_api()[0] is not None,  # the post-training quantizer INT8 exports use
    }



def probe():
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "paddle_version": paddle.__version__,
        "paddle_commit": getattr(paddle.version, "commit", ""),
        "numpy": numpy.__version__,
        "capabilities": capabilities(),
        "cpu": cpu(),
        "packages": installed_packages(),
    }
