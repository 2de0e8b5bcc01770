"""The worker's side of the scene protocol, without Paddle: input.npz's "x@k" feeds are
scene k, a user's model without suffixes is one scene, feeds keep the file's order."""

from __future__ import annotations

import numpy as np

from harness.inside.common import scene_of, scenes_of
from harness.phases.verdict import scene_of as host_scene_of


def test_feeds_are_grouped_by_their_scene_in_file_order() -> None:
    a, b, c, d = (np.full(1, i) for i in range(4))
    feeds = {"image": a, "scale": b, "image@1": c, "scale@1": d, "image@2": a}
    grouped = scenes_of(feeds)
    assert [k for k, _ in grouped] == [0, 1, 2]
    assert list(grouped[0][1]) == ["image", "scale"] and list(grouped[1][1]) == ["image", "scale"]
    assert grouped[1][1]["image"] is c and list(grouped[2][1]) == ["image"]


def test_a_users_inputs_are_one_scene_unchanged() -> None:
    feeds = {"x2paddle_input": np.zeros(1), "im_shape": np.zeros(1), "scale_factor": np.zeros(1)}
    [(k, scene)] = scenes_of(feeds)
    assert k == 0 and list(scene) == list(feeds)


def test_host_and_worker_read_suffixes_alike() -> None:
    for key in ("image", "image@3", "output_0@12", "a@b", "@1", "x@", "name@with@2"):
        assert scene_of(key) == host_scene_of(key), key
    assert scene_of("a@b") == ("a@b", 0) and scene_of("name@with@2") == ("name@with", 2)
