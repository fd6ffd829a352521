"""Colour binding: every foreground x background pair is trained, evaluated and right."""

from __future__ import annotations

import json
import re

import pytest

from generation.analysis import analyse
from generation.evaluate import pair_scenes, pair_summary, parse_args, score
from generation.shapes import COLOURS, COUNTS, SHAPES, Scene, colour_pairs, training_scenes
from generation.types import GenerationRequest
from generation.versions import SHIPPED_DIR

BASE = SHIPPED_DIR / "canvas-shapes"
# The report that opened the colour work: these came out with the colours swapped.
REPORTED = ("two white circles on a red background", "a black triangle on a green background")
REPORTED_PAIRS = [("white", "red"), ("black", "green")]
ROW = re.compile(
    r"^\| (\w+) \| (\w+) \| (\d+) \| (\d+)/(\d+) \| (\d+)/\d+ \| (\d+)/\d+ \| (right|WRONG) \|$"
)


def card_pairs() -> dict[tuple[str, str], dict]:
    """The per-pair table of the shipped base's MODEL_CARD.md, parsed."""
    rows = {}
    for line in (BASE / "MODEL_CARD.md").read_text().splitlines():
        m = ROW.match(line)
        if m:
            fg, bg, images, colours, n, count, shape, verdict = m.groups()
            assert images == n, line
            rows[(fg, bg)] = {
                "foreground": fg,
                "background": bg,
                "images": int(images),
                "colours": int(colours),
                "count": int(count),
                "shape": int(shape),
                "right": verdict == "right",
            }
    return rows


def test_every_colour_is_a_background_at_every_count_in_training():
    seen = {(s.colour, s.background, s.count) for s in training_scenes()}
    missing = [(fg, bg, c) for fg, bg in colour_pairs() for c in COUNTS if (fg, bg, c) not in seen]
    assert not missing
    assert {bg for _, bg in colour_pairs()} >= set(COLOURS)


def test_pairs_suite_has_every_pair_and_count_and_rotates_shapes():
    scenes = pair_scenes()
    pairs = colour_pairs()
    assert len(pairs) == len(COLOURS) * len(COLOURS)  # 6 colours x (5 others + gray)
    assert {(s.colour, s.background, s.count) for s in scenes} == {
        (fg, bg, c) for fg, bg in pairs for c in COUNTS
    }
    for fg, bg in pairs:
        assert {s.shape for s in scenes if (s.colour, s.background) == (fg, bg)} == set(SHAPES)
    assert parse_args(["--suite", "pairs"]).seed == 7  # the seeds of the report: 7, 8, 9


def test_a_pair_is_right_only_when_every_image_has_both_colours():
    scene = Scene("white", "circle", "red", 2)
    good = analyse_marks(scene, ("red", "white"))
    swapped = analyse_marks(scene, ("white", "red"))
    rows = [good, good, swapped]
    (summary,) = pair_summary(rows)
    assert (summary["images"], summary["colours"], summary["right"]) == (3, 2, False)
    assert pair_summary([good, good])[0]["right"]


def analyse_marks(scene: Scene, background_and_colour: tuple[str, str]) -> dict:
    """A pairs-suite row for an image showing the given background and foreground colour."""
    from generation.analysis import Analysis

    bg, fg = background_and_colour
    found = Analysis(bg, fg, scene.shape, scene.count, None)
    return {"pair": [scene.colour, scene.background], "marks": score(scene, found)}


@pytest.mark.parametrize("prompt", REPORTED)
def test_reported_prompts_bind_colours_for_seeds_7_8_9(generator, prompt):
    fg, bg = re.match(r"\w+ (\w+) \w+ on a (\w+) background", prompt).groups()
    for seed in (7, 8, 9):
        image = generator.generate(GenerationRequest(prompt, seed=seed)).images[0].image
        found = analyse(image)
        assert (found.colour, found.background) == (fg, bg), (prompt, seed, found)


def test_model_card_shows_every_pair_right_as_the_evaluation_finds():
    from generation.evaluate import format_pairs

    table = card_pairs()
    assert set(table) == set(colour_pairs())
    wrong = [pair for pair, row in table.items() if not row["right"]]
    assert not wrong
    assert all(row["colours"] == row["images"] > 0 for row in table.values())
    # The card is rendered from the recorded figures, not written by hand.
    record = json.loads((BASE / "version.json").read_text())["evaluation"]["pairs"]
    assert format_pairs(record["pairs"]) in (BASE / "MODEL_CARD.md").read_text()


def test_model_card_rows_match_the_evaluation_of_the_shipped_model(generator):
    from generation.evaluate import evaluate

    record = json.loads((BASE / "version.json").read_text())["evaluation"]["pairs"]
    report, _ = evaluate(
        generator,
        "canvas-shapes",
        "pairs",
        steps=record["steps"],
        guidance=record["guidance_scale"],
        seed=record["seed"],
        seeds=record["seeds"],
        groups={"pairs": pair_scenes(REPORTED_PAIRS)},
    )
    table = card_pairs()
    for row in report["pairs"]:
        assert row == table[(row["foreground"], row["background"])]
    assert len(report["pairs"]) == len(REPORTED_PAIRS)


def test_focus_oversamples_the_named_pairs():
    from generation.shapes import draw_pool
    from generation.train_base import focus_weights, parse_focus

    focus = focus_weights(parse_focus("*:red,white:green,green:red=9"), 4.0)
    assert set(focus) == {(fg, "red") for fg in COLOURS if fg != "red"} | {("white", "green")}
    assert (focus["white", "red"], focus["green", "red"]) == (4.0, 9.0)
    scenes = training_scenes()
    share = {}
    for name, weights in (("plain", None), ("focus", focus)):
        _, labels, captions = draw_pool(scenes, 600, seed=1, focus=weights)
        on_red = [captions[i].endswith("on a red background") for i in labels]
        share[name] = sum(on_red) / len(on_red)
    assert share["focus"] > 2 * share["plain"]


@pytest.mark.parametrize(
    "bad", ["white", "white:purple", "pink:*", "white:red,:", "white:red=0", "white:red=x"]
)
def test_focus_rejects_names_outside_the_vocabulary(bad, capsys):
    from generation.train_base import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--focus", bad])
    assert "--focus" in capsys.readouterr().err


def test_init_from_starts_model_and_ema_from_a_version_folder():
    import torch

    from generation.canvas_model import build_unet
    from generation.train_base import _init_weights

    unet = build_unet()
    ema = [p.detach().clone() for p in unet.parameters()]
    record = _init_weights(unet, ema, BASE)
    shipped = json.loads((BASE / "version.json").read_text())
    assert record["content_hash"] == shipped["content_hash"]
    from safetensors.torch import load_file

    saved = load_file(str(BASE / "unet" / "diffusion_pytorch_model.safetensors"))
    for name, p in unet.named_parameters():
        assert torch.equal(p.detach(), saved[name].float()), name
    assert all(torch.equal(e, p.detach()) for e, p in zip(ema, unet.parameters(), strict=True))
