"""A DINO (ppdet's DETR architecture + DINOTransformer + DINOHead) from PaddleDetection's
own config system, sized for the harness's 64x64 images: the closest relative of RT-DETR
that paddledet 2.6 ships (RT-DETR's transformer is derived from it: MSDeformableAttention
in encoder and decoder, top-k encoder proposals as decoder queries, contrastive
denoising groups in training, DETRBBoxPostProcess with focal-loss scores; no NMS).

Used through ppdet_models.py (build / train dispatch on the model name); export is
ppdet_models.export, the same Trainer.export steps as PP-YOLOE.

Python 3.7 syntax, stdlib + numpy + paddle + ppdet only.
"""

import numpy as np
import numpy.random  # noqa: F401  (numpy before paddle: see harness/inside/__init__.py)

import paddle

NAME = "ppdet_dino"

# ppdet's configs/dino/_base_/dino_r50.yml (+ reader and dataset parts), shrunk:
# - ResNet depth 18 (the smallest ppdet ResNet) cut to 3 stages (res2-res4, 64/128/256
#   channels, ~2.8M of ResNet-18's 11M weights); features at stride 8 and 16 (8x8, 4x4),
#   DINO adds a third level (stride 32, 2x2) by a strided conv, like its 4th level on r50.
#   No frozen stem / frozen BN: the weights are random, not ImageNet's.
# - hidden_dim 64 (GroupNorm(32, hidden_dim) in the input projection wants a multiple
#   of 32), 4 heads, 1 encoder + 2 decoder layers, 10 queries, 20 denoising queries.
# - num_top_queries 10: the export's bbox is [10, 6] (label, score, x1, y1, x2, y2).
# - label_noise_ratio 0 (DINO's 0.5 flips denoising labels): ppdet 2.6.0's label noise
#   does ``mask * pad_gt_mask`` (bool * float32), which Paddle 3.x refuses ("Type
#   promotion only support calculations between floating-point numbers ..."); the box
#   noise of the denoising groups stays. One setting for every Paddle.
CONFIG_YAML = """
architecture: DETR
hidden_dim: {hidden_dim}
use_focal_loss: True
norm_type: bn
use_ema: false
metric: COCO
DETR:
  backbone: ResNet
  transformer: {transformer}
  detr_head: DINOHead
  post_process: DETRBBoxPostProcess
ResNet:
  depth: 18
  variant: b
  norm_type: bn
  freeze_at: -1
  freeze_norm: false
  return_idx: [1, 2]
  num_stages: 3
  lr_mult_list: [1.0, 1.0, 1.0, 1.0]
{transformer}:
  num_queries: {num_queries}
  position_embed_type: sine
  num_levels: 3
  nhead: 4
  num_encoder_layers: {enc_layers}
  num_decoder_layers: {dec_layers}
  num_encoder_points: 4
  num_decoder_points: 4
  dim_feedforward: {ffn}
  dropout: 0.0
  activation: relu
  pe_temperature: 20
  pe_offset: 0.0
  num_denoising: {num_denoising}
  label_noise_ratio: 0.0
  box_noise_scale: 1.0
  learnt_init_query: True
DINOHead:
  loss:
    name: DINOLoss
    loss_coeff: {{class: 1, bbox: 5, giou: 2}}
    aux_loss: True
    matcher:
      name: HungarianMatcher
      matcher_coeff: {{class: 2, bbox: 5, giou: 2}}
DETRBBoxPostProcess:
  num_top_queries: {num_queries}
"""
DEFAULTS = {"hidden_dim": 64, "num_queries": 10, "enc_layers": 1, "dec_layers": 2, "ffn": 128, "num_denoising": 20}
# Adam's learning rate and the batch size of train(); see train() for the measurements.
LR = 4e-3
BATCH = 8


def fixes_needed():
    """What ppdet 2.6.0's DINO (written for Paddle 2.4) trips over in this Paddle:
    "scalar_shapes": paddle.shape(x)[i] is 0-D (Paddle >= 2.5), and its
    _get_encoder_input's ``bs, _, h, w = paddle.shape(feat); paddle.concat([h, w])``
    raises "(InvalidArgument) The axis is expected to be in range of [0, 0), but got 0";
    "strict_promotion": float32 / int64 tensors raise (Paddle >= 3.0), and
    MSDeformableAttention's ``sampling_offsets / offset_normalizer`` (int64 spatial
    shapes) raises "(InvalidType) Type promotion only support calculations between
    floating-point numbers ...". Both in training and inference, DINO and Deformable
    DETR alike (they share the code)."""
    needed = []
    if len(paddle.shape(paddle.zeros([1, 2]))[0].shape) == 0:
        needed.append("scalar_shapes")
    try:
        paddle.ones([2], "float32") / paddle.ones([2], "int64")
    except Exception:  # TypeError in Paddle 3.x
        needed.append("strict_promotion")
    return needed


def transformer_name():
    """ppdet's own DINOTransformer where it runs as shipped, else DINOTransformerCompat."""
    if not fixes_needed():
        return "DINOTransformer"
    _register_compat()
    return "DINOTransformerCompat"


def _register_compat():
    """Registers (once per process) DINOTransformerCompat: ppdet's DINOTransformer with
    two of ppdet's methods copied verbatim but for one line each (both no-ops where
    not needed): _get_encoder_input reshapes h and w to [1] before the concat, and its
    MSDeformableAttention layers (encoder self-, decoder cross-attention) cast the
    offset normaliser to float. Everything else is ppdet's."""
    from ppdet.core.workspace import global_config, register
    if "DINOTransformerCompat" in global_config:
        return
    from ppdet.modeling.transformers.deformable_transformer import MSDeformableAttention
    from ppdet.modeling.transformers.dino_transformer import DINOTransformer

    class MSDeformableAttentionCast(MSDeformableAttention):
        def forward(self, query, reference_points, value, value_spatial_shapes,
                    value_level_start_index, value_mask=None):
            # dy2static recompiles forward methods from their source with the module's
            # globals: no closure variables, the names needed are imported here.
            import paddle.nn.functional as F
            bs, Len_q = query.shape[:2]
            Len_v = value.shape[1]
            assert int(value_spatial_shapes.prod(1).sum()) == Len_v
            value = self.value_proj(value)
            if value_mask is not None:
                value_mask = value_mask.astype(value.dtype).unsqueeze(-1)
                value *= value_mask
            value = value.reshape([bs, Len_v, self.num_heads, self.head_dim])
            sampling_offsets = self.sampling_offsets(query).reshape(
                [bs, Len_q, self.num_heads, self.num_levels, self.num_points, 2])
            attention_weights = self.attention_weights(query).reshape(
                [bs, Len_q, self.num_heads, self.num_levels * self.num_points])
            attention_weights = F.softmax(attention_weights).reshape(
                [bs, Len_q, self.num_heads, self.num_levels, self.num_points])
            if reference_points.shape[-1] == 2:
                offset_normalizer = value_spatial_shapes.flip([1]).reshape(
                    [1, 1, 1, self.num_levels, 1, 2]).astype(sampling_offsets.dtype)  # the fix
                sampling_locations = reference_points.reshape([
                    bs, Len_q, 1, self.num_levels, 1, 2]) + sampling_offsets / offset_normalizer
            elif reference_points.shape[-1] == 4:
                sampling_locations = (
                    reference_points[:, :, None, :, None, :2] + sampling_offsets /
                    self.num_points * reference_points[:, :, None, :, None, 2:] * 0.5)
            else:
                raise ValueError(
                    "Last dim of reference_points must be 2 or 4, but get {} instead.".
                    format(reference_points.shape[-1]))
            output = self.ms_deformable_attn_core(
                value, value_spatial_shapes, value_level_start_index,
                sampling_locations, attention_weights)
            return self.output_proj(output)

    class DINOTransformerCompat(DINOTransformer):
        __shared__ = list(DINOTransformer.__shared__)

        def _reset_parameters(self):
            # The last step of DINOTransformer.__init__: the layers exist, swap the class
            # of its deformable attentions (same parameters, fixed forward).
            DINOTransformer._reset_parameters(self)
            for layer in self.sublayers():
                if type(layer) is MSDeformableAttention:
                    layer.__class__ = MSDeformableAttentionCast

        def _get_encoder_input(self, feats, pad_mask=None):
            import paddle.nn.functional as F  # see MSDeformableAttentionCast.forward
            from ppdet.modeling.transformers.utils import get_valid_ratio
            proj_feats = [self.input_proj[i](feat) for i, feat in enumerate(feats)]
            if self.num_levels > len(proj_feats):
                len_srcs = len(proj_feats)
                for i in range(len_srcs, self.num_levels):
                    if i == len_srcs:
                        proj_feats.append(self.input_proj[i](feats[-1]))
                    else:
                        proj_feats.append(self.input_proj[i](proj_feats[-1]))
            feat_flatten, mask_flatten, lvl_pos_embed_flatten = [], [], []
            spatial_shapes, valid_ratios = [], []
            for i, feat in enumerate(proj_feats):
                bs, _, h, w = paddle.shape(feat)
                spatial_shapes.append(paddle.concat([h.reshape([1]), w.reshape([1])]))  # the fix
                feat_flatten.append(feat.flatten(2).transpose([0, 2, 1]))
                if pad_mask is not None:
                    mask = F.interpolate(pad_mask.unsqueeze(0), size=(h, w))[0]
                else:
                    mask = paddle.ones([bs, h, w])
                valid_ratios.append(get_valid_ratio(mask))
                pos_embed = self.position_embedding(mask).flatten(1, 2)
                lvl_pos_embed_flatten.append(pos_embed + self.level_embed.weight[i])
                if pad_mask is not None:
                    mask_flatten.append(mask.flatten(1))
            feat_flatten = paddle.concat(feat_flatten, 1)
            mask_flatten = None if pad_mask is None else paddle.concat(mask_flatten, 1)
            lvl_pos_embed_flatten = paddle.concat(lvl_pos_embed_flatten, 1)
            spatial_shapes = paddle.to_tensor(paddle.stack(spatial_shapes).astype('int64'))
            level_start_index = paddle.concat([
                paddle.zeros([1], dtype='int64'), spatial_shapes.prod(1).cumsum(0)[:-1]])
            valid_ratios = paddle.stack(valid_ratios, 1)
            return (feat_flatten, spatial_shapes, level_start_index, mask_flatten,
                    lvl_pos_embed_flatten, valid_ratios)

    # ppdet's create() finds a registered class as an attribute of its module; so does
    # dy2static the class of a layer whose forward it converts.
    globals()["MSDeformableAttentionCast"] = MSDeformableAttentionCast
    globals()["DINOTransformerCompat"] = DINOTransformerCompat
    register(DINOTransformerCompat)


def config_yaml(size, config=None):
    values = dict(DEFAULTS)
    values.update(config or {})
    values.setdefault("transformer", transformer_name())
    from harness.inside.ppdet_models import READER_YAML
    return (CONFIG_YAML + READER_YAML).format(size=size, **values)


def available():
    """Import check of what this model needs beyond ppdet_models.available()."""
    from ppdet.modeling.transformers.dino_transformer import DINOTransformer  # noqa: F401
    from ppdet.modeling.heads.detr_head import DINOHead  # noqa: F401
    from ppdet.modeling.post_process import DETRBBoxPostProcess  # noqa: F401


def batch(n, seed, size):
    """make_images turned into ppdet's DETR training inputs: what its reader gives after
    NormalizeBox + BboxXYXY2XYWH (boxes cx, cy, w, h over the image size) and
    PadMaskBatch (pad_mask, all ones: no padding), gt as per-image lists (collate_batch
    false), gt_class int32 [n, 1] (the denoising group writes it into an int32 tensor)."""
    from harness.inside.models import make_images

    images, targets = make_images(n, seed)
    gt_bbox, gt_class = [], []
    for boxes, labels in targets:
        cxcywh = np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2.0, boxes[:, 2:] - boxes[:, :2]], 1)
        gt_bbox.append(paddle.to_tensor((cxcywh / float(size)).astype("float32")))
        gt_class.append(paddle.to_tensor(labels.reshape(-1, 1).astype("int32")))
    return {
        "image": paddle.to_tensor(images),
        "im_shape": paddle.to_tensor(np.full((n, 2), float(size), "float32")),
        "scale_factor": paddle.to_tensor(np.ones((n, 2), "float32")),
        "pad_mask": paddle.to_tensor(np.ones((n, size, size), "float32")),
        "gt_bbox": gt_bbox,
        "gt_class": gt_class,
    }


def train(model, steps, seed, size, lr=None):
    """ppdet's own DINO loss (Hungarian matching, focal class loss, L1 + GIoU, aux and
    denoising losses), Adam on fresh batches; returns the per-step losses."""
    from harness.inside.models import adam_steps

    def loss_at(batch_seed):
        return model(batch(BATCH, batch_seed, size))["loss"]

    return adam_steps(model, steps, seed, LR if lr is None else lr, loss_at)
