"""A PP-YOLOE and a DINO built from PaddleDetection's own code (the ``paddledet`` package).

The model comes from ppdet's config system (``load_config`` on a YAML file, then
``create(cfg.architecture)``) with small width/depth multipliers, and is exported the way
ppdet's ``tools/export_model.py`` -> ``Trainer.export`` does it: ``convert_to_deploy``,
``infer_cfg.yml`` written by ppdet's ``_dump_infer_config``, ``to_static`` with a dict
input spec (image, im_shape, scale_factor), ``_prune_input_spec`` on
``static_model.forward.main_program``, then ``jit.save`` with the pruned spec.

"ppdet_dino" (ppdet's DETR + DINOTransformer, the closest paddledet 2.6 has to RT-DETR)
has its config and training inputs in ppdet_detr.py; build/train dispatch on the name,
everything else (inputs, deploy conversion, export) is shared.

Python 3.7 syntax, stdlib + numpy + paddle + ppdet only, feature detection over versions.
ppdet is imported lazily: ``available()`` says whether (and why not) it imports here.
"""

import os
import shutil
import tempfile

# numpy (and numpy.random) before paddle/ppdet: see harness/inside/__init__.py.
import numpy as np
import numpy.random  # noqa: F401

import paddle

MODEL_NAMES = ("ppdet_ppyoloe", "ppdet_dino")
IMAGE_SIZE = 64  # the harness's generated images; ppdet's strides 8/16/32 fit
NUM_CLASSES = 3
LABELS = ("red", "green", "blue")
DEFAULTS = {"width_mult": 0.25, "depth_mult": 0.33, "num_classes": NUM_CLASSES}

# ppdet's ppyoloe_crn.yml (+ reader and dataset parts), sized for 64x64 images:
# TAL from step 0 (ATSS wants 9 anchors per level, the 2x2 level has 4) and the
# harness's NMS thresholds, so boxes are not decided by scores at the threshold.
CONFIG_YAML = """
architecture: {arch}
norm_type: bn
use_ema: false
metric: COCO
{arch}:
  backbone: CSPResNet
  neck: CustomCSPPAN
  yolo_head: PPYOLOEHead
  post_process: ~
CSPResNet:
  layers: [3, 6, 6, 3]
  channels: [64, 128, 256, 512, 1024]
  return_idx: [1, 2, 3]
  use_large_stem: True
CustomCSPPAN:
  out_channels: [768, 384, 192]
  stage_num: 1
  block_num: 3
  act: swish
  spp: true
PPYOLOEHead:
  fpn_strides: [32, 16, 8]
  grid_cell_scale: 5.0
  grid_cell_offset: 0.5
  static_assigner_epoch: -1
  use_varifocal_loss: True
  loss_weight: {{class: 1.0, iou: 2.5, dfl: 0.5}}
  static_assigner: {{name: ATSSAssigner, topk: 9}}
  assigner: {{name: TaskAlignedAssigner, topk: 13, alpha: 1.0, beta: 6.0}}
  nms: {{name: MultiClassNMS, nms_top_k: 100, keep_top_k: 20, score_threshold: 0.3, nms_threshold: 0.5}}
"""
# The reader and dataset parts every ppdet model's config ends with (export reads them).
READER_YAML = """
TestDataset:
  !ImageFolder
    anno_path: label_list.txt
TestReader:
  inputs_def:
    image_shape: [3, {size}, {size}]
  sample_transforms:
    - Decode: {{}}
    - Resize: {{target_size: [{size}, {size}], keep_ratio: False, interp: 2}}
    - NormalizeImage: {{mean: [0., 0., 0.], std: [1., 1., 1.], norm_type: none}}
    - Permute: {{}}
  batch_size: 1
"""


def available(name=None):
    """(True, "") where ppdet's config system, PP-YOLOE (or model `name`'s parts) and
    export helpers import here."""
    try:
        import ppdet  # noqa: F401
        from ppdet.core.workspace import load_config, create  # noqa: F401
        from ppdet.engine.export_utils import _dump_infer_config, _prune_input_spec  # noqa: F401
        from ppdet.modeling.heads.ppyoloe_head import PPYOLOEHead  # noqa: F401

        if name == "ppdet_dino":
            from harness.inside import ppdet_detr

            ppdet_detr.available()
    except Exception as exc:  # any import failure is the row's status
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return False, "%s: %s" % (type(exc).__name__, lines[0] if lines else "")
    return True, ""


def version():
    import ppdet

    return getattr(ppdet, "__version__", "unknown")  # e.g. "2.6.0"


def _load_config(text, filename):
    """ppdet's load_config on a YAML text (it reads files only). It merges into ppdet's
    process-wide global_config: one model per process, as the harness runs them."""
    from ppdet.core.workspace import load_config

    tmp = tempfile.mkdtemp(prefix="ppdet_cfg_")
    try:
        path = os.path.join(tmp, filename)
        with open(path, "w") as handle:
            handle.write(text)
        return load_config(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build(name, config=None):
    """Model `name` from ppdet's own config system, initialised with paddle.seed(0), in eval mode."""
    if name not in MODEL_NAMES:
        raise ValueError("unknown model %r, expected one of %r" % (name, MODEL_NAMES))
    from ppdet.core.workspace import create, global_config, merge_config

    if name == "ppdet_dino":
        from harness.inside import ppdet_detr

        cfg = _load_config(ppdet_detr.config_yaml(IMAGE_SIZE, config), "dino_tiny.yml")
        overrides = {"num_classes": NUM_CLASSES}
    else:
        overrides = dict(DEFAULTS)
        overrides.update(config or {})
        # Newer ppdet registers a PPYOLOE architecture; 2.4-2.5 build PP-YOLOE as YOLOv3.
        arch = "PPYOLOE" if "PPYOLOE" in global_config else "YOLOv3"
        cfg = _load_config((CONFIG_YAML + READER_YAML).format(arch=arch, size=IMAGE_SIZE), "ppyoloe_tiny.yml")
    merge_config(overrides)
    paddle.seed(0)
    model = create(cfg.architecture)
    model.eval()
    model.ppdet_cfg = cfg  # export needs it (infer_cfg.yml), like Trainer.cfg
    model.ppdet_name = name  # train() dispatches on it
    return model


def _batch(n, seed):
    """make_images turned into ppdet's training inputs (gt padded, int64 classes)."""
    from harness.inside.models import make_images

    images, targets = make_images(n, seed)
    most = max(len(labels) for _, labels in targets)
    gt_bbox = np.zeros((n, most, 4), "float32")
    gt_class = np.zeros((n, most, 1), "int64")  # ppdet 2.6 + Paddle 3 fail on int32
    pad = np.zeros((n, most, 1), "float32")
    for i, (boxes, labels) in enumerate(targets):
        gt_bbox[i, : len(labels)], gt_class[i, : len(labels), 0], pad[i, : len(labels)] = boxes, labels, 1.0
    shape = np.full((n, 2), float(IMAGE_SIZE), "float32")
    return {
        "image": images,
        "gt_bbox": gt_bbox,
        "gt_class": gt_class,
        "pad_gt_mask": pad,
        "im_shape": shape,
        "scale_factor": np.ones((n, 2), "float32"),
    }


def train(model, steps, seed, lr=None):
    """ppdet's own loss of the model, Adam on fresh batches; returns the losses.
    PP-YOLOE (TAL assigner): 100 steps (~17 s on 1 CPU core) give confident boxes on
    fixed_input(). DINO: see ppdet_detr.train."""
    from harness.inside.models import adam_steps

    if getattr(model, "ppdet_name", None) == "ppdet_dino":
        from harness.inside import ppdet_detr

        return ppdet_detr.train(model, steps, seed, IMAGE_SIZE, lr)
    lr = 4e-3 if lr is None else lr

    def loss_at(batch_seed):
        inputs = {k: paddle.to_tensor(v) for k, v in _batch(8, batch_seed).items()}
        inputs["epoch_id"] = 0
        return model(inputs)["loss"]

    return adam_steps(model, steps, seed, lr, loss_at)


def feeds_for(image):
    """One float32 image [1,3,H,W] (or [3,H,W]) in [0, 1] as the export's feeds: the image
    is already RGB/255 (what Decode + NormalizeImage(norm_type none) give), not resized
    (scale_factor 1, im_shape its own H, W)."""
    image = np.asarray(image, "float32")
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError("expected one image [1, 3, H, W] or [3, H, W], got %r" % (image.shape,))
    height, width = image.shape[2], image.shape[3]
    return {
        "image": np.ascontiguousarray(image),
        "im_shape": np.array([[height, width]], "float32"),
        "scale_factor": np.array([[1.0, 1.0]], "float32"),
    }


def fixed_input():
    """make_images(1, seed=12345) as ppdet's three inputs (feeds_for)."""
    from harness.inside.models import make_images

    images, _ = make_images(1, seed=12345)
    return feeds_for(images)


def _to_deploy(model):
    """What Trainer._get_infer_cfg_and_input_spec does to the model before to_static:
    RepVGG branches fused (convert_to_deploy), once, so reference and export agree.
    It renames parameters: load weights (set_state_dict) before it, never after."""
    cfg = model.ppdet_cfg
    if hasattr(model, "deploy"):
        model.deploy = True
    if not getattr(model, "ppdet_deployed", False) and "slim" not in cfg:
        for layer in model.sublayers():
            if hasattr(layer, "convert_to_deploy"):
                layer.convert_to_deploy()
    model.ppdet_deployed = True
    export_cfg = cfg.get("export", {}) or {}
    if hasattr(model, "fuse_norm"):
        model.fuse_norm = cfg["TestReader"].get("fuse_normalize", False)
    if hasattr(model, "export_post_process"):
        model.export_post_process = export_cfg.get("post_process", True)
    if hasattr(model, "export_nms"):
        model.export_nms = export_cfg.get("nms", True)
    model.eval()


def forward_outputs(model, feeds):
    """Dygraph outputs of the deploy-converted model: [bbox [N,6], bbox_num [1]] (the
    order jit.save gives a dict output: sorted keys)."""
    _to_deploy(model)
    out = model({k: paddle.to_tensor(v) for k, v in feeds.items()})
    return [out[k].numpy() for k in sorted(out)]


def _input_spec(cfg):
    """Trainer._get_infer_cfg_and_input_spec's shapes, for a config without 'export'."""
    image_shape = list(cfg["TestReader"].get("inputs_def", {}).get("image_shape") or [None, 3, -1, -1])
    im_shape, scale_factor = [None, 2], [None, 2]
    if len(image_shape) == 3:
        image_shape = [None] + image_shape
    else:
        im_shape, scale_factor = [image_shape[0], 2], [image_shape[0], 2]
    image_shape = [None] + image_shape[1:]  # export_post_process (default on)
    InputSpec = paddle.static.InputSpec
    spec = [
        {
            "image": InputSpec(shape=image_shape, name="image"),
            "im_shape": InputSpec(shape=im_shape, name="im_shape"),
            "scale_factor": InputSpec(shape=scale_factor, name="scale_factor"),
        }
    ]
    return image_shape, spec


def _dump_infer_cfg(cfg, path, image_shape, model):
    """ppdet's own _dump_infer_config; label names from a label-list file like a dataset's."""
    from ppdet.engine.export_utils import _dump_infer_config

    tmp = tempfile.mkdtemp(prefix="ppdet_labels_")
    dataset = cfg["TestDataset"]
    old = getattr(dataset, "anno_path", None), getattr(dataset, "dataset_dir", None)
    try:
        with open(os.path.join(tmp, "label_list.txt"), "w") as handle:
            handle.write("\n".join(LABELS) + "\n")
        dataset.dataset_dir, dataset.anno_path = tmp, "label_list.txt"
        _dump_infer_config(cfg, path, image_shape, model)
    finally:
        dataset.anno_path, dataset.dataset_dir = old
        shutil.rmtree(tmp, ignore_errors=True)


def export(model, out_dir, prefix, full_graph, record=None):
    """Trainer.export, step by step; full_graph is passed to to_static where this Paddle
    takes it (ppdet <= 2.6 passes nothing, which on Paddle 3 means full_graph=False).
    Fills and returns ``record`` (pass one in to keep ``stage`` when a step raises)."""
    from ppdet.engine.export_utils import _prune_input_spec
    from harness.inside.probe import accepts_full_graph

    os.makedirs(out_dir, exist_ok=True)
    cfg = model.ppdet_cfg
    record = {} if record is None else record
    record.update(ppdet_version=version(), architecture=cfg.architecture, stage="deploy")
    _to_deploy(model)
    image_shape, input_spec = _input_spec(cfg)
    record["stage"] = "infer_cfg"
    _dump_infer_cfg(cfg, os.path.join(out_dir, "infer_cfg.yml"), image_shape, model)
    kwargs = {"full_graph": bool(full_graph)} if accepts_full_graph() else {}
    record.update(
        to_static_kwargs=kwargs, stage="to_static", input_spec={k: [v.shape, v.name] for k, v in input_spec[0].items()}
    )
    static_model = paddle.jit.to_static(model, input_spec=input_spec, **kwargs)
    record["static_function"] = type(static_model.forward).__name__
    record["stage"] = "prune_input_spec"
    # NOTE (ppdet): dy2st does not prune the program, jit.save will: prune the spec here.
    pruned = _prune_input_spec(input_spec, static_model.forward.main_program, static_model.forward.outputs)
    record["pruned_inputs"] = sorted(pruned[0])
    record["stage"] = "jit.save"
    paddle.jit.save(static_model, os.path.join(out_dir, prefix), input_spec=pruned)
    record.update(stage=None, files={n: os.path.getsize(os.path.join(out_dir, n)) for n in sorted(os.listdir(out_dir))})
    return record
