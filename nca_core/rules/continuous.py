"""Shared machinery of the continuous families (Lenia, SmoothLife): states ↔ values in [0, 1] and
torus convolutions with small radial kernels, written as shifted sums in a fixed order (float64), so
results are identical on every device."""

from __future__ import annotations

import numpy as np
import torch


def to_values(grid: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """States 0..n-1 → values in [0, 1] (float64); ``n`` broadcasts over the batch."""
    return grid.to(torch.float64) / (n - 1).to(torch.float64)


def to_states(values: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Values in [0, 1] → nearest state 0..n-1 (round half to even)."""
    return torch.round(values.clamp(0.0, 1.0) * (n - 1).to(torch.float64)).to(torch.int64)


def offsets(radius: int) -> list[tuple[int, int]]:
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]


def torus_conv(values: torch.Tensor, kernels: torch.Tensor, radius: int) -> torch.Tensor:
    """Σ over offsets of kernels[b, k] · values shifted by offset k. values (B, H, W), kernels (B, K)."""
    out = torch.zeros_like(values)
    for k, (dy, dx) in enumerate(offsets(radius)):
        weight = kernels[:, k]
        if bool((weight != 0).any()):
            out = out + weight[:, None, None] * torch.roll(values, shifts=(-dy, -dx), dims=(-2, -1))
    return out


def radial_kernel(radius: int, profile) -> np.ndarray:
    """Kernel weights over :func:`offsets` from ``profile(distance)``, as float64."""
    return np.array([profile(float(np.hypot(dy, dx))) for dy, dx in offsets(radius)], dtype=np.float64)
