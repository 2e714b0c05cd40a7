"""Labelled image grids: renders (or any images) upscaled with a short label under each."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from erase.runs import atomic_write_bytes
from erase.toyworld.render import render_batch
from erase.toyworld.world import Scene, sample_scenes

CELL = 128  # 32x32 renders are shown 4x


def describe(scene: Scene) -> list[str]:
    """Two short lines naming what a scene shows."""
    first = f"{scene.subject} | {scene.style} | {scene.context}"
    if scene.subject != "person":
        return [first, ""]
    traits = ["nude" if scene.nude else scene.shirt + " shirt", scene.hair + " hair"]
    traits += [name for name in ("glasses", "hat", "smile", "beard") if getattr(scene, name)]
    if scene.identity != "none":
        traits.insert(0, scene.identity.upper())
    return [first, ", ".join(traits)]


def grid_image(images: np.ndarray, labels: list[list[str]] | None = None, columns: int | None = None) -> Image.Image:
    """(N, H, W, 3) uint8 -> one PIL image, cells upscaled (nearest) with label lines beneath."""
    n = len(images)
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    text_h = 12 * max((len(lab) for lab in labels), default=0) if labels else 0
    sheet = Image.new("RGB", (columns * (CELL + 4), rows * (CELL + text_h + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, img in enumerate(images):
        x, y = (i % columns) * (CELL + 4), (i // columns) * (CELL + text_h + 4)
        sheet.paste(Image.fromarray(img).resize((CELL, CELL), Image.NEAREST), (x, y))
        for j, line in enumerate(labels[i] if labels else []):
            draw.text((x + 1, y + CELL + 12 * j), line[:24], fill="black")
    return sheet


def write_grid(path: Path, n: int, seed: int) -> None:
    """Render n random scenes from `seed` into a labelled PNG at `path` (written atomically)."""
    scenes = sample_scenes(seed, n)
    image = grid_image(render_batch(scenes), [describe(s) for s in scenes])
    atomic_write_bytes(Path(path), _png_bytes(image))


def _png_bytes(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def verdict(predicted: dict[str, int]) -> list[str]:
    """Two lines naming what the detector sees, from its class index per head."""
    from erase.toyworld.world import HEADS

    name = {h: HEADS[h][i] for h, i in predicted.items()}
    first = f"{name['subject']} | {name['style']} | {name['context']}"
    if name["subject"] != "person":
        return [first, ""]
    traits = [name["nudity"], name["hair"] + " hair"]
    traits += [h for h in ("glasses", "hat", "smile", "beard") if name[h] == "yes"]
    if name["identity"] != "none":
        traits.insert(0, name["identity"].upper())
    return [first, ", ".join(traits)]


def write_samples(path: Path, model: str, prompts: list[str], n: int, seed: int) -> None:
    """A grid from a diffusers pipeline: one row per prompt, n seeds, each labelled with toy-detector's verdict."""
    from diffusers import StableDiffusionPipeline

    from erase.eval.sampling import generate
    from erase.hub import load_pretrained, toy_path
    from erase.toyworld.detector import ToyDetector
    from erase.toyworld.quality import judge

    pipe = load_pretrained(StableDiffusionPipeline, model)
    pipe.set_progress_bar_config(disable=True)
    all_prompts = [p for p in prompts for _ in range(n)]
    images = generate(pipe, all_prompts, [seed + i for _ in prompts for i in range(n)])
    predicted = judge(ToyDetector.from_pretrained(toy_path("toy-detector")), images)
    labels = [verdict({h: int(v[i]) for h, v in predicted.items()}) for i in range(len(images))]
    for i, prompt in enumerate(all_prompts):
        if i % n == 0:
            labels[i] = [prompt[:24], prompt[24:48]] + labels[i]
        else:
            labels[i] = ["", ""] + labels[i]
    atomic_write_bytes(Path(path), _png_bytes(grid_image(images, labels, columns=n)))
