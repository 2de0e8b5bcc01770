"""control_tiny: a positive control, a tiny detector every consumer supports.

Same images, scenes and training data as models.py's two detectors, but built only from
operators that Paddle-Lite (x86 and arm kernels) and paddle2onnx (every opset from 11)
convert: conv2d, batch_norm, relu, sigmoid, reshape2, slice, concat, scale and
elementwise add/sub. No NMS, no top-k, no gather, no transpose (Paddle-Lite 2.10's
transpose2 segfaults in InferShape on programs from Paddle 2.6+), no swish (Paddle >= 2.6 writes swish
without the `beta` attribute Lite's optimizer requires), no softplus (Lite has no x86
kernel; Paddle 3.3 stores its beta as float64, which paddle2onnx 2.1.0 aborts on).

forward(image) returns the raw head, decoded and without any post-processing:
  boxes  [B, 4, G*G]  x1, y1, x2, y2 rows in input pixels, one box per grid cell
  scores [B, C, G*G]  sigmoid class scores
(channel-first, like the conv outputs, so no transpose is needed)
so the host judges it element-wise (not a [N, 6] detection output), and the reference
check applies what fits: finite values and a training loss that went down (the detection
floor needs [N, 6] detections). If a consumer fails on this model, the consumer (or the
harness) is broken, not the export.

The same API as models.py (build_model, train, input_spec, fixed_input, truth), so the
"control" family exports it exactly as the "tiny" family exports models.py's detectors.
Python 3.7 syntax, stdlib + numpy + paddle only.
"""
import numpy as np
import numpy.random  # noqa: F401  (numpy before paddle, see models.py)

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from harness.inside import models as _tiny  # the images, scenes and training loop

MODEL_NAMES = ("control_tiny",)
IMAGE_SIZE = 64
NUM_CLASSES = 3
STRIDE = 8
GRID = IMAGE_SIZE // STRIDE
MAX_DIST = 4.0 * STRIDE  # a cell's box reaches at most 4 strides (32 px) from its centre


def _conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2D(cin, cout, 3, stride=stride, padding=1, bias_attr=False),
                         nn.BatchNorm2D(cout), nn.ReLU())


def _centres():
    """[1, 2, G*G] (x; y) pixel centres of the grid cells, row-major like reshape of the
    [B, C, G, G] conv output (a constant in .pdiparams, not ops)."""
    c = (np.arange(GRID, dtype="float32") + 0.5) * STRIDE
    xx, yy = np.meshgrid(c, c)
    return np.stack([xx.ravel(), yy.ravel()], axis=0)[None].astype("float32")


class ControlTiny(nn.Layer):
    """Conv backbone, per-cell sigmoid class scores and sigmoid-bounded ltrb distances."""

    def __init__(self, width=32):
        super(ControlTiny, self).__init__()
        self.backbone = nn.Sequential(_conv_bn_relu(3, 16, 2), _conv_bn_relu(16, width, 2),
                                      _conv_bn_relu(width, width, 2), _conv_bn_relu(width, width, 1))
        self.cls_head = nn.Conv2D(width, NUM_CLASSES, 1)
        self.reg_head = nn.Conv2D(width, 4, 1)
        # A persistable buffer: saved in .pdiparams, a plain constant input to every consumer.
        self.register_buffer("centres", paddle.to_tensor(_centres()))

    def head(self, image):
        """Class logits [B,C,G*G] and ltrb distances in pixels [B,4,G*G]."""
        feat = self.backbone(image)
        logits = paddle.reshape(self.cls_head(feat), [0, NUM_CLASSES, GRID * GRID])
        dist = paddle.reshape(self.reg_head(feat), [0, 4, GRID * GRID])
        return logits, F.sigmoid(dist) * MAX_DIST

    def forward(self, image):
        logits, ltrb = self.head(image)
        boxes = paddle.concat([self.centres - ltrb[:, 0:2], self.centres + ltrb[:, 2:4]], axis=1)
        return boxes, F.sigmoid(logits)

    def loss(self, images, targets):
        cls_t, ltrb_t, _, pos = _tiny._cell_targets(targets, int(images.shape[-1]))
        cls_t = paddle.to_tensor(cls_t)  # [B,C,G*G]
        ltrb_t = paddle.to_tensor(ltrb_t.transpose([0, 2, 1]) * STRIDE)  # [B,4,G*G], strides -> pixels
        pos = paddle.to_tensor(pos)  # [B,G*G]
        logits, ltrb = self.head(images)
        num_pos = paddle.clip(pos.sum(), min=1.0)
        cls_loss = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="sum") / num_pos
        reg_loss = (paddle.abs(ltrb - ltrb_t).sum(1) * pos).sum() / num_pos / STRIDE
        return cls_loss + reg_loss


# ---------------------------------------------------------------- API (as models.py)

def _check_name(name, dynamic_size=False):
    if name not in MODEL_NAMES:
        raise ValueError("unknown model %r, expected one of %r" % (name, MODEL_NAMES))
    if dynamic_size:
        raise ValueError("%s has a fixed 64x64 input" % name)


def build_model(name, dynamic_size=False):
    _check_name(name, dynamic_size)
    paddle.seed(0)
    model = ControlTiny()
    model.eval()
    return model


def train(model, name, steps, seed, dynamic_size=False):
    """Adam on models.py's synthetic batches; returns per-step losses; leaves eval mode."""
    _check_name(name, dynamic_size)

    def loss_at(batch_seed):
        images, targets = _tiny.make_images(8, batch_seed, IMAGE_SIZE)
        return model.loss(paddle.to_tensor(images), targets)
    return _tiny.adam_steps(model, steps, seed, 5e-3, loss_at)


def input_spec(name, dynamic_size=False):
    _check_name(name, dynamic_size)
    return [paddle.static.InputSpec([1, 3, IMAGE_SIZE, IMAGE_SIZE], "float32", "image")]


def fixed_input(name, dynamic_size=False):
    """input.npz: "image", "image@1", ... - models.py's fixed scenes (PP-YOLOE-like's)."""
    _check_name(name, dynamic_size)
    return _tiny.fixed_input("ppyoloe_tiny")


def truth(name, dynamic_size=False):
    _check_name(name, dynamic_size)
    return _tiny.truth("ppyoloe_tiny")


def scene_key(name, k):
    return _tiny.scene_key(name, k)
