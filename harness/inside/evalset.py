"""The labeled evaluation set and the calibration split, made deterministically here.

Every export of a detector carries eval.npz (the evaluation images as feeds, "image@k" for
image k, run by every consumer after the fixed scenes), reference_eval.npz (the producer's
FP32 dygraph detections on them, "output_i@k") and the images' truth in truth.json
("eval"): the host computes each cell's mAP from them (harness/phases/accuracy.py).

The evaluation images come from seeds no training batch uses (training draws batch seeds
from seed * 100003 + step), and the calibration images (post-training quantization) from
another range again. Unlike training batches, objects never overlap: a hidden part's
truth is not in the pixels, and the mAP must be reachable by a perfect detector.

Python 3.7 syntax, stdlib + numpy + paddle only.
"""

import os

import numpy as np
import numpy.random  # noqa: F401  (before paddle: see models.py)

from harness.inside import models
from harness.inside.common import scene_of

EVAL_IMAGES = 32
CALIBRATION_IMAGES = 16
EVAL_SEED = 7_000_000
CALIBRATION_SEED = 8_000_000
_EMPTY_EVERY = 8  # images 0, 8, 16, ... hold no object: a detector must stay quiet there
_GAP = 2  # pixels between objects


def _apart(box, boxes):
    x1, y1, x2, y2 = box
    for a1, b1, a2, b2 in boxes:
        if x1 < a2 + _GAP and a1 < x2 + _GAP and y1 < b2 + _GAP and b1 < y2 + _GAP:
            return False
    return True


def make_labeled(n, seed, size=models.IMAGE_SIZE, empty_every=_EMPTY_EVERY):
    """n images [n,3,size,size] in [0,1] with 1-3 non-overlapping objects each (every
    `empty_every`-th image none; 0: never), sides 12 px to half the image, and their truth
    [{"size", "boxes" (xyxy px), "labels"}]."""
    images = np.zeros((n, 3, size, size), "float32")
    truth = []
    for i in range(n):
        rng = np.random.RandomState(seed + i)
        image = rng.uniform(0.0, 0.35, size=(3, size, size)).astype("float32")
        boxes, labels = [], []
        wanted = 0 if empty_every and i % empty_every == 0 else rng.randint(1, 4)
        for _ in range(50):  # rejection sampling; a crowded image keeps what fits
            if len(boxes) == wanted:
                break
            w, h = rng.randint(12, size // 2 + 1, size=2)
            x1, y1 = rng.randint(0, size - w + 1), rng.randint(0, size - h + 1)
            box = [int(x1), int(y1), int(x1 + w), int(y1 + h)]
            if _apart(box, boxes):
                c = int(rng.randint(models.NUM_CLASSES))
                models.draw(image, rng, c, box[0], box[1], w, h)
                boxes.append(box)
                labels.append(c)
        # In 1/255 steps, as a decoded 8-bit image is (and eval.npz compresses to a third).
        images[i] = np.round(np.clip(image, 0.0, 1.0) * 255.0) / 255.0
        truth.append({"size": [size, size], "boxes": [[float(v) for v in b] for b in boxes], "labels": labels})
    return images, truth


def eval_set(n=EVAL_IMAGES):
    return make_labeled(n, EVAL_SEED)


def calibration_images(n=CALIBRATION_IMAGES):
    """Images for post-training quantization's calibration: never evaluated on."""
    images, _ = make_labeled(n, CALIBRATION_SEED, empty_every=0)
    return images


def image_feeds(image):
    """The tiny family's feeds for one image [3,H,W]: the export's one input."""
    return {"image": image[None]}


def save_eval(out_dir, outputs_of, feeds_for=image_feeds, n=EVAL_IMAGES):
    """eval.npz, reference_eval.npz and the evaluation truth (returned, for truth.json).
    ``outputs_of(feeds)`` is the producer's FP32 dygraph model on one image's feeds, a list
    of arrays; ``feeds_for(image)`` one image's feeds in the export's input order."""
    images, truth = eval_set(n)
    feeds, reference = {}, {}
    for k, image in enumerate(images):
        one = feeds_for(image)
        for name, array in one.items():
            feeds["%s@%d" % (name, k)] = array
        for i, array in enumerate(outputs_of(one)):
            reference["output_%d@%d" % (i, k)] = array
    np.savez_compressed(os.path.join(out_dir, "eval.npz"), **feeds)
    np.savez(os.path.join(out_dir, "reference_eval.npz"), **reference)
    return truth


def keep_inputs(out_dir, names):
    """Rewrite eval.npz with only the inputs ``names``, in that order, per image: what a
    pruned program (ppdet's export drops unused inputs) takes, fed by position by jit.load."""
    path = os.path.join(out_dir, "eval.npz")
    with np.load(path) as data:
        images = sorted({scene_of(key)[1] for key in data.files})
        kept = {"%s@%d" % (name, k): data["%s@%d" % (name, k)] for k in images for name in names}
    np.savez_compressed(path, **kept)
