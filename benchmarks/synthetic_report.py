# ruff: noqa: E501  (literal errors, logs and commands read better whole)
"""A synthetic results document at nightly scale, for benchmarks/bench_report.py and the
browser tier: what a nightly of every release line on CPU and GPU would write.

    synthetic_document(NIGHTLY)   # 8 release lines x 2 devices x 5 models x 5 export modes x 6 loaders: 38400 cells
    synthetic_document(DEFAULT)   # the default matrix's shape: 7260 cells

Realistic on purpose: two runtimes that could not be built, PIR exports that older Paddle
cannot read (crashes and load failures, declared as expected), a PaddleDetection-style
export that fails everywhere (expected) and legacy exports that newer Paddle can no longer
write (not expected), run failures and mismatches, pip freezes, tracebacks and reproduce
lines of the sizes the real harness writes, a previous run with a few changed cells and a
trend. Deterministic: the same shape gives the same document.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from harness.document.cell import Stage, Status
from harness.document.results import (
    EXPECTED,
    Cell,
    CellExpectation,
    ExportEntry,
    ExportModeEntry,
    Fingerprint,
    Infra,
    LoaderEntry,
    PreviousCell,
    PreviousRun,
    ResultsDocument,
    RunInfo,
    RuntimeEntry,
    StaleExpectation,
    Tolerances,
    Transitions,
    TrendPoint,
    count_shown,
)
from harness.report.compat import compat_ranges
from harness.store.state import RuntimeState

WORK = "/home/ci/nightly/work"
LINES = ("2.3.2", "2.4.2", "2.5.2", "2.6.2", "3.0.0", "3.1.1", "3.2.2", "3.3.1")
MODES = (
    ExportModeEntry("fullgraph_on-pir", "pir", True),
    ExportModeEntry("fullgraph_on-legacy", "legacy", True),
    ExportModeEntry("fullgraph_off-pir", "pir", False),
    ExportModeEntry("fullgraph_off-legacy", "legacy", False),
    ExportModeEntry("fullgraph_off-legacy-ppdet", "legacy", False, True),
)
MODES_BY_ID = {m.id: m for m in MODES}
LOADERS = (
    LoaderEntry("predictor", "predictor"),
    LoaderEntry("predictor-no-onednn", "predictor", onednn="off"),
    LoaderEntry("predictor-no-ir-optim", "predictor", ir_optim="off"),
    LoaderEntry("predictor-onednn", "predictor", onednn="on"),
    LoaderEntry("predictor-ir-optim", "predictor", ir_optim="on"),
    LoaderEntry("jit_load", "jit_load"),
)
MODELS = ("ppyoloe_tiny", "rtdetr_tiny", "ppdet_ppyoloe", "ppdet_rtdetr", "picodet_tiny")
PIR_LINK = "https://github.com/PaddlePaddle/Paddle/issues/71134"
PPDET_LINK = "https://github.com/PaddlePaddle/Paddle/issues/60908"
JIT_LINK = "https://github.com/PaddlePaddle/Paddle/issues/75300"


@dataclass(frozen=True)
class Shape:
    runtimes: tuple[tuple[str, str], ...]  # (id, version)
    models: tuple[str, ...]
    loaders: tuple[LoaderEntry, ...]
    unavailable: tuple[str, ...]
    skipped: tuple[str, ...] = ()

    @property
    def cells(self) -> int:
        r = len(self.runtimes)
        return r * len(self.models) * len(MODES) * r * len(self.loaders)


NIGHTLY = Shape(
    runtimes=tuple((f"{device}-{v}", v) for device in ("cpu", "gpu") for v in LINES),
    models=MODELS,
    loaders=LOADERS,
    unavailable=("cpu-2.3.2", "gpu-2.3.2"),
)
DEFAULT = Shape(
    runtimes=(
        *((f"cpu-{v}", v) for v in LINES),
        ("gpu-2.5.2", "2.5.2"),
        ("gpu-2.6.2", "2.6.2"),
        ("gpu-3.3.1", "3.3.1"),
    ),
    models=MODELS[:3],
    loaders=LOADERS[:3] + LOADERS[5:],
    unavailable=("cpu-2.3.2", "cpu-2.4.2", "cpu-2.5.2"),
    skipped=("gpu-2.5.2", "gpu-2.6.2", "gpu-3.3.1"),
)


def _v(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def _freeze(version: str, rng: random.Random) -> list[str]:
    base = ["astor==0.8.1", "certifi==2024.8.30", "decorator==5.1.1", "httpx==0.27.2", "numpy==1.26.4"]
    extra = [f"pkg{n:02d}-{rng.choice('abcdefgh')}=={rng.randint(0, 9)}.{rng.randint(0, 30)}.{n}" for n in range(36)]
    return sorted([*base, *extra, f"paddlepaddle=={version}", "protobuf==3.20.3", "Pillow==10.4.0"])


def _runtime(rid: str, version: str, shape: Shape, rng: random.Random) -> RuntimeEntry:
    device = rid.split("-")[0]
    if rid in shape.unavailable:
        reason = (
            f"paddlepaddle=={version} is published on https://www.paddlepaddle.org.cn/packages/stable/{device}/, and "
            f"https://www.paddlepaddle.org.cn/packages/stable/{device}/ is unreachable from here ([Errno -2] Name or "
            "service not known)\n  TIP: run where that index is reachable, or point index_url in matrix.yaml at a mirror"
        )
        return RuntimeEntry(rid, version, RuntimeState.UNAVAILABLE, device=device, python="3.9", reason=reason)
    fp = Fingerprint(
        python="3.11.7" if _v(version) >= (2, 6) else "3.9.19",
        platform="Linux-6.1.0-27-amd64-x86_64-with-glibc2.36",
        paddle_version=version,
        paddle_commit=f"{rng.getrandbits(160):040x}",
        numpy="1.26.4",
        packages=_freeze(version, rng),
        capabilities={
            "full_graph_option": True,
            "pir_programs": _v(version) >= (3,),
            "compiled_with_cuda": device == "gpu",
        },
    )
    state = RuntimeState.SKIPPED if rid in shape.skipped else RuntimeState.READY
    reason = "no GPU: nvidia-smi finds no device on this host" if state is RuntimeState.SKIPPED else ""
    return RuntimeEntry(
        rid, version, state, device=device, python=fp.python[:4], fingerprint=fp, backend="docker", reason=reason
    )


def _traceback(rng: random.Random, where: str, error: str, frames: int) -> str:
    lines = ["Traceback (most recent call last):"]
    for n in range(frames):
        fn = rng.choice(["__call__", "_run_dygraph", "load", "_build_load_path_and_config", "__impl__", "forward"])
        lines.append(
            f'  File "{where}/site-packages/paddle/{rng.choice(["jit", "base", "nn"])}/mod{n}.py", line {rng.randint(10, 2000)}, in {fn}'
        )
        lines.append(f"    return {fn}(*args, **kwargs)")
        lines.append("           " + "^" * rng.randint(10, 40))
    return "\n".join([*lines, error, ""])


def _reproduce(producer: str, model: str, mode: ExportModeEntry, consumer: str, loader: LoaderEntry) -> str:
    out = f"{WORK}/exports/{producer}/{model}/{mode.id}"
    program = "model.json" if mode.program_format == "pir" else "model.pdmodel"
    task = (
        f'{{"id": "{producer}__{model}__{mode.id}__{consumer}__{loader.id}", "loader": {{"id": "{loader.id}", '
        f'"api": "{loader.api}", "onednn": "{loader.onednn}", "ir_optim": "{loader.ir_optim}"}}, '
        f'"program": "{out}/{program}", "params": "{out}/model.pdiparams", "prefix": "{out}/model", "input": "{out}/input.npz"}}'
    )
    return (
        f"echo '{task}' | docker run --rm -i --init --network none --user 1000:1000 -v {WORK}/exports:{WORK}/exports:ro "
        f"paddle-harness/{consumer}:3f9a1c python -m harness.inside worker"
    )


class _Cells:
    """The verdict of every cell, by rules that mirror what the real default matrix found."""

    def __init__(self, shape: Shape, runtimes: dict[str, RuntimeEntry], rng: random.Random) -> None:
        self.shape, self.runtimes, self.rng = shape, runtimes, rng
        self.export_logs: dict[tuple[str, str, str], str] = {}

    def export_problem(self, producer: str, model: str, mode: ExportModeEntry) -> tuple[Status, str, str] | None:
        v = _v(self.runtimes[producer].version)
        if mode.program_format == "pir" and v < (3,):
            return (
                Status.NOT_APPLICABLE,
                "this Paddle cannot write PIR .json programs (no paddle.jit.pir_translated_layer)",
                "",
            )
        if mode.read_main_program:
            error = "RuntimeError: Can't call main_program when full_graph=False. Use paddle.jit.to_static(full_graph=True) instead."
        elif mode.program_format == "legacy" and v >= (3, 2) and model != "picodet_tiny":
            op = self.rng.choice(["sigmoid", "softplus", "matmul"])
            error = f"TypeError: (InvalidType) {op}(): argument (position 1) must be Value, but got Variable (at /paddle/paddle/fluid/pybind/eager_utils.cc:2265)"
        else:
            return None
        key = (producer, model, mode.id)
        if key not in self.export_logs:
            self.export_logs[key] = _traceback(self.rng, f"{WORK}/runtimes/{producer}/venv/lib/python3.11", error, 14)
        return Status.EXPORT_FAILED, error, self.export_logs[key]

    def cell(self, p: str, model: str, mode: ExportModeEntry, c: str, loader: LoaderEntry) -> Cell:
        rp, rc = self.runtimes[p], self.runtimes[c]
        key = {"producer": p, "model": model, "export": mode.id, "consumer": c, "loader": loader.id}
        for rt, role in ((rp, "producer"), (rc, "consumer")):
            if rt.state is not RuntimeState.READY:
                status = Status.UNAVAILABLE if rt.state is RuntimeState.UNAVAILABLE else Status.SKIPPED
                error = f"{role} {rt.id} {rt.state.value}: {rt.reason.splitlines()[0]}"
                return Cell(**key, status=status, stage=Stage.BUILD, error=error, log=rt.reason)
        problem = self.export_problem(p, model, mode)
        if problem is not None:
            status, error, log = problem
            details = {"export_paddle_version": rp.version, "export_to_static_kwargs": {"full_graph": mode.full_graph}}
            if status is Status.EXPORT_FAILED:
                details |= {
                    "export_files": {"input.npz": 49416, "reference.npz": 690},
                    "export_static_function": "SymbolicStaticFunction",
                }
            return Cell(**key, status=status, stage=Stage.EXPORT, error=error, log=log, details=details)
        return self.loaded(key, rp, rc, mode, loader)

    def loaded(
        self, key: dict[str, str], rp: RuntimeEntry, rc: RuntimeEntry, mode: ExportModeEntry, loader: LoaderEntry
    ) -> Cell:
        rng = self.rng
        reproduce = _reproduce(rp.id, key["model"], mode, rc.id, loader)
        vp, vc = _v(rp.version), _v(rc.version)
        details: dict[str, object] = {"reproduce": reproduce, "peak_rss_mb": round(rng.uniform(120, 420), 2)}
        where = f"{WORK}/runtimes/{rc.id}/venv/lib/python3.11"
        if mode.program_format == "pir" and vc < (3,):
            if loader.api == "predictor":
                log = (
                    "C++ Traceback (most recent call last):\n0   paddle::AnalysisPredictor::Init\n1   paddle::framework::NaiveExecutor::CreateVariables\n"
                    "Error Message Summary:\nFatalError: `Segmentation fault` is detected by the operating system.\n"
                    f"  [TimeInfo: *** Aborted at {rng.randint(10**9, 2 * 10**9)} (unix time) ***]\n"
                    f"  [SignalInfo: *** SIGSEGV (@0x0) received by PID {rng.randint(1000, 99999)} ***]\n"
                )
                error = "the loading process died by SIGSEGV: FatalError: `Segmentation fault` is detected by the operating system."
                return Cell(
                    **key,
                    status=Status.CRASH,
                    stage=Stage.LOAD,
                    error=error,
                    log=log,
                    details={**details, "signal": "SIGSEGV"},
                    duration_s=0.104,
                )
            error = "ValueError: The ``path`` to load model not exists. Please make sure that *.pdmodel(json) exists."
            return Cell(
                **key,
                status=Status.LOAD_FAILED,
                stage=Stage.LOAD,
                error=error,
                log=_traceback(rng, where, error, 6),
                details=details,
                duration_s=0.02,
            )
        if mode.program_format == "legacy" and vc >= (3,) and loader.api == "jit_load":
            error = f"ValueError: The ``path`` ({WORK}/exports/{rp.id}/{key['model']}/{mode.id}/model) to load model not exists."
            return Cell(
                **key,
                status=Status.LOAD_FAILED,
                stage=Stage.LOAD,
                error=error,
                log=_traceback(rng, where, error, 7),
                details=details,
                duration_s=0.02,
            )
        if mode.program_format == "pir" and vp > vc and key["model"] in ("ppyoloe_tiny", "ppdet_ppyoloe"):
            error = "ValueError: (InvalidArgument) Type of attribute: beta is not pir::FloatAttribute."
            return Cell(
                **key,
                status=Status.RUN_FAILED,
                stage=Stage.RUN,
                error=error,
                log=_traceback(rng, where, error, 18),
                details=details,
                duration_s=0.06,
            )
        calls = {"off": ["disable_mkldnn()"], "on": ["enable_mkldnn()"]}.get(loader.onednn, [])
        details |= {
            "config_calls": calls
            if loader.api == "predictor"
            else [f"paddle.jit.load('{WORK}/exports/{rp.id}/{key['model']}/{mode.id}/model')"],
            "load_s": round(rng.uniform(0.02, 0.4), 4),
            "run_s": round(rng.uniform(0.005, 0.05), 4),
            "reference_boxes": 7,
            "consumer_boxes": 7,
            "matched": 7,
            "output_shapes": [[7, 6], [1]],
        }
        if rc.device != rp.device and key["model"] == "rtdetr_tiny" and loader.onednn == "on":
            diff = round(rng.uniform(0.1, 0.4), 6)
            details |= {"max_score_diff": diff, "max_box_diff": 0.01, "min_iou": 0.97}
            error = f"score of box 3 differs by {diff} (score_atol 0.001)"
            return Cell(
                **key,
                status=Status.MISMATCH,
                stage=Stage.COMPARE,
                error=error,
                max_abs_diff=diff,
                details=details,
                duration_s=0.13,
            )
        diff = rng.uniform(1e-7, 3e-5)
        details |= {"max_score_diff": diff / 10, "max_box_diff": diff, "min_iou": 1 - diff}
        return Cell(
            **key, status=Status.PASS, max_abs_diff=diff, details=details, duration_s=round(rng.uniform(0.05, 0.3), 3)
        )


def _expected(cell: Cell) -> CellExpectation | None:
    if cell.status is Status.EXPORT_FAILED and cell.export.endswith("-ppdet"):
        return CellExpectation(
            "PaddleDetection's export reads forward.main_program, which SOT cannot give",
            PPDET_LINK,
            "",
            "export=*-ppdet",
        )
    if cell.status in (Status.CRASH, Status.LOAD_FAILED) and cell.export.endswith("pir"):
        return CellExpectation(
            "Paddle 2.x cannot read the PIR .json programs Paddle 3.x writes",
            PIR_LINK,
            "",
            "export=*-pir consumer=*-2.*",
        )
    if cell.status is Status.LOAD_FAILED and cell.loader == "jit_load":
        return CellExpectation(
            "paddle.jit.load in Paddle 3.x looks for .json", JIT_LINK, "", "export=*-legacy* loader=jit_load"
        )
    return None


def _judged(cell: Cell, rng: random.Random) -> Cell:
    exp = _expected(cell)
    shown = EXPECTED if exp else cell.status.value
    cell = dataclasses.replace(cell, shown_as=shown, expectation=exp)
    if cell.status in (Status.PASS, Status.LOAD_FAILED, Status.RUN_FAILED, Status.MISMATCH) and rng.random() < 0.01:
        was = Status.LOAD_FAILED if cell.status is Status.PASS else Status.PASS
        kind = "newly_fixed" if cell.status is Status.PASS else ("newly_broken" if shown != EXPECTED else "changed")
        return dataclasses.replace(
            cell, transition=kind, previous=PreviousCell(was, was.value, None, "an earlier error")
        )
    return cell


def _export(producer: RuntimeEntry, model: str, mode: ExportModeEntry, rng: random.Random) -> ExportEntry:
    pir = mode.program_format == "pir"
    files = {"model.pdiparams": 7_340_032, "input.npz": 49_416, "reference.npz": 690}
    return ExportEntry(
        producer.id, model, mode.id, "ok", program_format=mode.program_format, files=files,
        program_file="model.json" if pir else "model.pdmodel", to_static_kwargs={"full_graph": mode.full_graph},
        static_function="SymbolicStaticFunction", paddle_version=producer.version, pir_api=pir, warnings=[],
        params_sha256=f"{rng.getrandbits(256):064x}",
    )  # fmt: skip


def synthetic_document(shape: Shape = NIGHTLY, seed: int = 7) -> ResultsDocument:
    rng = random.Random(seed)
    runtimes = {rid: _runtime(rid, version, shape, rng) for rid, version in shape.runtimes}
    maker = _Cells(shape, runtimes, rng)
    cells = [
        _judged(maker.cell(p, model, mode, c, loader), rng)
        for p in runtimes
        for model in shape.models
        for mode in MODES
        for c in runtimes
        for loader in shape.loaders
    ]
    listed = list(runtimes.values())
    ready = [r.id for r in listed if r.state is RuntimeState.READY]
    exports = [_export(runtimes[p], model, mode, rng) for p in ready for model in shape.models for mode in MODES]
    exports = [e for e in exports if maker.export_problem(e.producer, e.model, MODES_BY_ID[e.export]) is None]
    moved = [c for c in cells if c.transition]
    counts = {"pass": 2000, EXPECTED: 300, "unavailable": 480}
    points = [
        TrendPoint(f"2026111{d % 10}T020000Z-{d:08x}", f"2026-11-{10 + d:02d}T02:00:00Z", counts) for d in range(14)
    ]
    trend = {c: points for c in runtimes}
    stale_cells = [c.slug for c in cells if c.status is Status.PASS and c.loader == "jit_load"][:300]
    return ResultsDocument(
        generated_at="2026-11-24T02:00:00Z",
        run=RunInfo("20261124T020000Z-5eed0001", "20261123T020000Z-5eed0000"),
        matrix="matrix.yaml",
        backend="docker",
        runtimes=listed,
        models=list(shape.models),
        export_modes=list(MODES),
        loaders=list(shape.loaders),
        tolerances=Tolerances(),
        summary=count_shown(cells),
        stale_expectations=[
            StaleExpectation("a fixed jit.load bug", JIT_LINK, "", "loader=jit_load", "now passes", stale_cells)
        ],
        infra=Infra.of(listed, cells),
        exports=exports,
        compat_ranges=compat_ranges(listed, list(shape.models), [m.id for m in MODES], cells),
        transitions=Transitions(
            PreviousRun("20261123T020000Z-5eed0000", "2026-11-23T02:00:00Z"),
            *(sum(c.transition == k for c in moved) for k in ("newly_broken", "newly_fixed", "changed")),
        ),
        trend=trend,
        cells=cells,
    )
