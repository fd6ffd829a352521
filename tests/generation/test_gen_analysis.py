"""The evaluation's image analyser reads drawn scenes back exactly."""

from __future__ import annotations

import numpy as np

from generation.analysis import analyse
from generation.shapes import COLOURS, HELD_OUT, NEW_COLOUR, all_scenes, draw_scene, training_scenes


def test_analyser_recovers_every_attribute_of_drawn_scenes():
    rng = np.random.default_rng(3)
    scenes = all_scenes(COLOURS + (NEW_COLOUR,))
    for i in rng.choice(len(scenes), size=80, replace=False):
        scene = scenes[int(i)]
        found = analyse(draw_scene(scene, rng))
        assert (found.background, found.colour, found.shape, found.count) == (
            scene.background,
            scene.colour,
            scene.shape,
            scene.count,
        ), scene.caption
        if scene.count == 1:
            assert found.position == (scene.position or "centre"), scene.caption


def test_blank_image_has_no_shapes():
    from PIL import Image

    found = analyse(Image.new("RGB", (32, 32), (245, 245, 245)))
    assert (found.background, found.count, found.colour) == ("white", 0, None)


def test_held_out_combinations_never_reach_training():
    seen = {(s.colour, s.shape, s.background) for s in training_scenes()}
    assert not seen & set(HELD_OUT)
    assert all(s.colour != NEW_COLOUR for s in training_scenes())
