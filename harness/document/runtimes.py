"""The runtimes of a results document and what they built: declarations, fingerprints, exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.document.fields import Fields, parse
from harness.store.state import RuntimeState


@dataclass(frozen=True)
class Fingerprint:
    """What a runtime reported about itself (probed inside it, never derived from versions)."""

    python: str = ""
    platform: str = ""
    paddle_version: str = ""
    paddle_commit: str = ""
    numpy: str = ""
    packages: list[str] = field(default_factory=list)  # pip freeze, name==version
    capabilities: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # any other key the runtime recorded, kept verbatim

    TEXTS = ("python", "platform", "paddle_version", "paddle_commit", "numpy")

    def to_json(self) -> dict[str, Any]:
        known = {k: getattr(self, k) for k in self.TEXTS}
        return {**self.extra, **known, "packages": list(self.packages), "capabilities": dict(self.capabilities)}

    @classmethod
    def read(cls, f: Fields) -> Fingerprint:
        extra = {k: v for k, v in f.data.items() if k not in (*cls.TEXTS, "packages", "capabilities")}
        texts = {k: f.text(k, "") for k in cls.TEXTS}
        return cls(**texts, packages=f.texts("packages"), capabilities=f.mapping("capabilities") or {}, extra=extra)

    @classmethod
    def from_json(cls, data: Any, source: str, where: str = "fingerprint") -> Fingerprint:
        return parse(cls.read, data, source, where)


@dataclass(frozen=True)
class RuntimeEntry:
    """A declared runtime (matrix.yaml) and the state its build phase recorded. A deployment
    consumer is one too: ``tool`` says which (lite, onnx; "" for a Paddle runtime), its
    ``package`` and ``version`` are the tool's and ``pins`` its whole package list."""

    id: str
    version: str
    state: RuntimeState
    package: str = "paddlepaddle"
    device: str = "cpu"
    python: str = ""
    index_url: str = ""
    pins: list[str] = field(default_factory=list)
    note: str = ""
    base_image: str = ""
    reason: str = ""
    fingerprint: Fingerprint | None = None
    backend: str | None = None
    tool: str = ""
    image_size: int | None = None  # bytes of the runtime's image (docker backend)
    image_build_s: float | None = None  # how long building that image took

    @property
    def deployment(self) -> bool:
        return bool(self.tool)

    @property
    def wheel(self) -> str:
        """The Paddle wheel that really runs, as the runtime reported it
        ("paddlepaddle-gpu==2.3.2 on CPU"); the declared requirement before it ever ran."""
        fp = self.fingerprint
        found = [p for p in (fp.packages if fp else []) if p.split("==")[0] in ("paddlepaddle", "paddlepaddle-gpu")]
        if not found:
            return f"{self.package}=={self.version}"
        on_cpu = fp is not None and fp.capabilities.get("compiled_with_cuda") and self.device == "cpu"
        return found[0] + (" on CPU" if on_cpu else "")

    def to_json(self) -> dict[str, Any]:
        declared = ("id", "version", "package", "device", "python", "index_url", "note", "base_image", "reason")
        data = {
            **{k: getattr(self, k) for k in declared},
            "pins": list(self.pins),
            "state": self.state.value,
            "fingerprint": self.fingerprint.to_json() if self.fingerprint else None,
            "backend": self.backend,
        }
        if self.image_size is not None:
            data.update(image_size=self.image_size, image_build_s=self.image_build_s)
        return {**data, "tool": self.tool} if self.tool else data

    @classmethod
    def read(cls, f: Fields) -> RuntimeEntry:
        fingerprint = f.data.get("fingerprint")
        return cls(
            id=f.text("id"),
            version=f.text("version"),
            state=f.enum("state", RuntimeState, "runtime state"),
            **{k: f.text(k, "") for k in ("python", "index_url", "note", "base_image", "reason")},
            package=f.text("package", "paddlepaddle"),
            device=f.text("device", "cpu"),
            pins=f.texts("pins"),
            fingerprint=None if fingerprint is None else Fingerprint.read(f.child("fingerprint")),
            backend=f.opt_text("backend"),
            tool=f.text("tool", ""),
            image_size=int(size) if (size := f.number("image_size")) is not None else None,
            image_build_s=f.number("image_build_s"),
        )


@dataclass(frozen=True)
class ExportModeEntry:
    id: str
    program_format: str  # "pir" or "legacy"
    full_graph: bool | None = None  # None: not the harness's own export (a check report)
    read_main_program: bool | None = False
    precision: str = "fp32"  # "int8": quantized in the producer (post-training)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "full_graph": self.full_graph,
            "program_format": self.program_format,
            "read_main_program": self.read_main_program,
        } | ({"precision": self.precision} if self.precision != "fp32" else {})

    @classmethod
    def read(cls, f: Fields) -> ExportModeEntry:
        return cls(
            f.text("id"),
            f.text("program_format"),
            f.flag("full_graph"),
            f.flag("read_main_program"),
            f.text("precision", "fp32"),
        )


@dataclass(frozen=True)
class LoaderEntry:
    id: str
    api: str  # "predictor" or "jit_load"; a deployment consumer's: its tool, "lite" or "onnx"
    onednn: str = "default"
    ir_optim: str = "default"
    valid_targets: str = ""  # lite: what Paddle-Lite's optimizer converted for
    opset: int | None = None  # onnx: the opset paddle2onnx converted at
    device: str = "cpu"
    tensorrt: str = "off"
    precision: str = "fp32"  # "int8" for a precision loader (oneDNN or TensorRT INT8)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "api": self.api, "onednn": self.onednn, "ir_optim": self.ir_optim}
        defaults = {"device": "cpu", "tensorrt": "off", "precision": "fp32"}
        data.update({k: getattr(self, k) for k, v in defaults.items() if getattr(self, k) != v})
        if self.valid_targets:
            data["valid_targets"] = self.valid_targets
        if self.opset is not None:
            data["opset"] = self.opset
        return data

    @classmethod
    def read(cls, f: Fields) -> LoaderEntry:
        opset = f.integer("opset") if f.data.get("opset") is not None else None
        return cls(
            f.text("id"),
            f.text("api"),
            f.text("onednn", "default"),
            f.text("ir_optim", "default"),
            valid_targets=f.text("valid_targets", ""),
            opset=opset,
            device=f.text("device", "cpu"),
            tensorrt=f.text("tensorrt", "off"),
            precision=f.text("precision", "fp32"),
        )


@dataclass(frozen=True)
class Tolerances:
    """The numeric tolerances the verdicts used (matrix.yaml `tolerances`)."""

    score_atol: float = 1e-3
    box_atol: float = 0.05
    iou_min: float = 0.95
    array_atol: float = 1e-3
    array_rtol: float = 1e-3
    map_drop: float = 0.05  # mAP@0.5 below the FP32 reference's, where accuracy decides

    NAMES = ("score_atol", "box_atol", "iou_min", "array_atol", "array_rtol", "map_drop")

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.NAMES}

    @classmethod
    def read(cls, f: Fields) -> Tolerances:
        given = {k: f.number(k) for k in cls.NAMES}
        return cls(**{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class ExportEntry:
    """The record of one export present in the work directory: what the detail view shows."""

    producer: str
    model: str
    export: str
    status: str  # "ok" or why not (export_failed, not_applicable, crash, timeout)
    error: str | None = None
    program_format: str | None = None
    program_file: str | None = None
    files: dict[str, int] | None = None  # name -> size in bytes
    to_static_kwargs: dict[str, Any] | None = None
    static_function: str | None = None
    paddle_version: str | None = None
    pir_api: bool | None = None
    warnings: list[str] | None = None
    params_sha256: str | None = None
    precision: str | None = None  # "int8": quantized in the producer
    # INT8 exports: the quantizer, its observer and calibration images, what the saved program
    # holds (quant_ops: quantize/dequantize op counts) and how many weights are INT8 tensors.
    quantization: dict[str, Any] | None = None

    TEXTS = ("error", "program_format", "program_file", "static_function", "paddle_version", "params_sha256")

    def to_json(self) -> dict[str, Any]:
        data = {
            **{k: getattr(self, k) for k in ("producer", "model", "export", "status", *self.TEXTS)},
            "files": dict(self.files) if self.files is not None else None,
            "to_static_kwargs": self.to_static_kwargs,
            "pir_api": self.pir_api,
            "warnings": list(self.warnings) if self.warnings is not None else None,
        }
        # Only where recorded (exports of a harness with a precision axis): older keys unchanged.
        data.update({k: v for k, v in (("precision", self.precision), ("quantization", self.quantization)) if v})
        return data

    @classmethod
    def read(cls, f: Fields) -> ExportEntry:
        texts: dict[str, Any] = {k: f.text(k) for k in ("producer", "model", "export", "status")}
        texts |= {k: f.opt_text(k) for k in cls.TEXTS}
        return cls(
            **texts,
            files=f.counts("files"),
            to_static_kwargs=f.mapping("to_static_kwargs"),
            pir_api=f.flag("pir_api"),
            warnings=f.texts("warnings") if f.data.get("warnings") is not None else None,
            precision=f.opt_text("precision"),
            quantization=f.mapping("quantization"),
        )

    @classmethod
    def from_json(cls, data: Any, source: str, where: str = "") -> ExportEntry:
        return parse(cls.read, data, source, where)
