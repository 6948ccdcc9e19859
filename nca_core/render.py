"""Rendering trajectories to images: PNG frames and strips, animated GIFs, truth-vs-prediction panels.

Colours come from a fixed matplotlib colormap sampled at n points, so state s has the same colour
everywhere (CLI, docs, Space). Pixels are exact (nearest-neighbour upscaling, PNG is lossless)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ERROR_COLOUR = (255, 0, 80)
GAP = 2  # pixels between frames in a strip


@lru_cache(maxsize=64)
def palette(n_states: int) -> np.ndarray:
    """(n, 3) uint8 colours: state 0 near-black, then a perceptual ramp."""
    from matplotlib import colormaps

    ramp = colormaps["viridis" if n_states > 2 else "gray"](np.linspace(0.0, 1.0, n_states))[:, :3]
    return (ramp * 255).round().astype(np.uint8)


def _array(frames) -> np.ndarray:
    return np.asarray(frames.cpu() if isinstance(frames, torch.Tensor) else frames).astype(np.int64)


def frame_image(frame, n_states: int, scale: int = 16, highlight=None) -> Image.Image:
    """One (H, W) grid → RGB image; cells where ``highlight`` (H, W bool) is set get a red border."""
    grid = _array(frame)
    if grid.ndim != 2:
        raise ValueError(f"frame_image takes one (H, W) grid, got shape {grid.shape}")
    if grid.min(initial=0) < 0 or grid.max(initial=0) >= n_states:
        raise ValueError(f"grid holds states outside 0..{n_states - 1}")
    rgb = palette(n_states)[grid]
    big = np.repeat(np.repeat(rgb, scale, 0), scale, 1)
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool)
        border = max(1, scale // 5)
        edge = np.zeros((scale, scale), dtype=bool)
        edge[:border], edge[-border:], edge[:, :border], edge[:, -border:] = True, True, True, True
        big[np.kron(mask, edge).astype(bool)] = ERROR_COLOUR
    return Image.fromarray(big, "RGB")


def strip_image(frames, n_states: int, scale: int = 16, highlight=None, columns: int | None = None) -> Image.Image:
    """(T, H, W) frames → one image, frames left to right (wrapping after ``columns``)."""
    arr = _array(frames)
    t = arr.shape[0]
    columns = columns or t
    rows = -(-t // columns)
    tiles = [frame_image(arr[i], n_states, scale, None if highlight is None else highlight[i]) for i in range(t)]
    w, h = tiles[0].size
    canvas = Image.new("RGB", (columns * (w + GAP) - GAP, rows * (h + GAP) - GAP), (255, 255, 255))
    for i, tile in enumerate(tiles):
        canvas.paste(tile, ((i % columns) * (w + GAP), (i // columns) * (h + GAP)))
    return canvas


def compare_image(truth, prediction, n_states: int, scale: int = 16) -> Image.Image:
    """Truth (top row) above prediction (bottom row), wrong cells of the prediction outlined in red."""
    t, p = _array(truth), _array(prediction)
    if t.shape != p.shape:
        raise ValueError(f"truth {t.shape} and prediction {p.shape} differ in shape")
    top = strip_image(t, n_states, scale)
    bottom = strip_image(p, n_states, scale, highlight=t != p)
    canvas = Image.new("RGB", (top.width, top.height * 2 + 3 * GAP), (255, 255, 255))
    canvas.paste(top, (0, 0))
    canvas.paste(bottom, (0, top.height + 3 * GAP))
    return canvas


def save_png(frames, path: str | Path, n_states: int, scale: int = 16, columns: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = _array(frames)
    image = frame_image(arr, n_states, scale) if arr.ndim == 2 else strip_image(arr, n_states, scale, columns=columns)
    image.save(path, format="PNG")
    return path


def save_gif(frames, path: str | Path, n_states: int, scale: int = 16, duration_ms: int = 200) -> Path:
    """Animated GIF, one frame per step, looping."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tiles = [frame_image(f, n_states, scale) for f in _array(frames)]
    tiles[0].save(path, format="GIF", save_all=True, append_images=tiles[1:], duration=duration_ms, loop=0)
    return path
