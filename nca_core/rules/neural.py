"""Random neural CA: a tiny random conv net is the transition rule (the reference of arXiv 2603.10055).

Network (one rule = one set of weights, all biases zero, weights ~ truncated lecun-normal):
    one-hot(grid) (H, W, n) → wrap-pad → 3×3 conv, 4 channels, no activation
    → 1×1 conv to 16 channels, ReLU → 1×1 conv to n logits → next state.

Presets
- ``paper``: the reference exactly, including its quirk: ``jnp.pad(..., mode="wrap")`` pads the channel
  axis too, so the 3×3 conv sees n + 2 channels ordered [s_{n-1}, s_0, …, s_{n-1}, s_0] (fan_in 108 for
  n = 10): states 0 and n-1 each get two independent weight slices. τ = 1e-4, β = 0.
- ``fixed``: the same network without the quirk (n input channels, fan_in 9n).

Next state ~ Categorical(softmax((logits + β·onehot(s)) / τ)); τ = 0 means argmax.

Implementation: the one-hot input makes the 3×3 conv a sum of table lookups; the three cells of each
kernel row are looked up together (n³ rows of 4 values per kernel row). Logits are computed in float32
and every cell whose top-two margin is too small to be sure of — against float32 rounding or against the
Gumbel noise of sampling — is recomputed in float64 and, for τ > 0, sampled with counter-based Gumbel
noise. The result is therefore the float64 rule on every device and batch layout. On GPUs a step is a
chain of batched torch ops (:meth:`NeuralFamily.step`); on CPUs a fused numba kernel runs whole rollouts
(:mod:`.neural_cpu`), the same function several times faster (``benchmarks/generation.py --cpu-kernel
torch`` compares the two).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import torch

from .base import (
    BatchedRule,
    RuleFamily,
    RuleSpec,
    RuleSpecError,
    check_keys,
    counter_uniform,
    cpu_threads_wanted,
    hash_uniform,
    require_float,
    require_int,
)

HIDDEN = (4, 16)  # conv channels, 1×1 hidden channels (reference)
PRESETS = {"paper": {"tau": 1e-4, "beta": 0.0}, "fixed": {"tau": 1e-4, "beta": 0.0}}
GUMBEL_SPAN = 42.0  # Gumbel noise from 53-bit uniforms lies in (-3.7, 37.5): margins above 42τ are certain
FP32_REL_TOL = 1e-4  # float32 logits closer than this (relative) are recomputed in float64
NOISE_STREAM = 7  # counter_uniform stream of the sampling noise


def rule_weights(spec: RuleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three weight arrays of a (validated) neural rule spec, drawn from its seed.

    Returns ``w1`` (3, 3, C_in, 4), ``w2`` (4, 16), ``w3`` (16, n) as float32, C_in = n + 2 for ``paper``.
    """
    w1, w2, w3 = batch_weights([spec["seed"]], spec["preset"], spec["n_states"])
    return w1[0], w2[0], w3[0]


def batch_weights(seeds: list[int], preset: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights of many rules at once: truncated lecun-normal (flax ``lecun_normal``: normal truncated to
    ±2σ, rescaled so the variance is 1 / fan_in), drawn by inverse CDF from counter-based uniforms of
    each rule's seed. Always computed on the CPU in float64, so every device gets identical weights."""
    c_in = n + 2 if preset == "paper" else n
    shapes = [((3, 3, c_in, HIDDEN[0]), 9 * c_in), ((HIDDEN[0], HIDDEN[1]), HIDDEN[0]), ((HIDDEN[1], n), HIDDEN[1])]
    total = sum(int(np.prod(shape)) for shape, _ in shapes)
    u = hash_uniform(torch.as_tensor(seeds, dtype=torch.int64), 0, (total,), stream=0x4E4341)
    lo = torch.special.ndtr(torch.tensor(-2.0, dtype=torch.float64))
    values = torch.special.ndtri(lo + u * (1.0 - 2.0 * lo)).numpy()  # standard normal truncated to ±2
    out, start = [], 0
    for shape, fan_in in shapes:
        size = int(np.prod(shape))
        std = np.sqrt(1.0 / fan_in) / 0.87962566103423978
        out.append((values[:, start : start + size] * std).reshape(len(seeds), *shape).astype(np.float32))
        start += size
    return out[0], out[1], out[2]


def state_weights(preset: str, w1: np.ndarray) -> np.ndarray:
    """Per-state slices of the 3×3 conv, (…, 3, 3, n, 4): what a one-hot cell of each state contributes.

    ``paper``: channel s+1 is state s, and the wrapped copies (channels 0 and n+1) add to states n-1 and 0."""
    if preset != "paper":
        return w1
    eff = w1[..., 1:-1, :].copy()
    eff[..., -1, :] += w1[..., 0, :]
    eff[..., 0, :] += w1[..., -1, :]
    return eff


class NeuralFamily(RuleFamily):
    name: ClassVar[str] = "neural"
    description: ClassVar[str] = "random tiny conv net as transition rule (arXiv 2603.10055)"

    def sample(self, rng: np.random.Generator, n_states: int, preset: str = "paper", tau: float | None = None,
               **knobs: Any) -> RuleSpec:
        if knobs:
            raise RuleSpecError(f"neural rules take the knobs preset, tau; got {sorted(knobs)}")
        spec = {"family": self.name, "preset": preset, "seed": int(rng.integers(0, 2**62)), "n_states": n_states}
        if tau is not None:
            spec["tau"] = tau
        return self.validate(spec)

    def validate(self, spec: RuleSpec) -> RuleSpec:
        check_keys(spec, {"seed", "preset", "n_states", "tau", "beta"})
        preset = spec.get("preset", "paper")
        if preset not in PRESETS:
            raise RuleSpecError(f"neural rule: unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        if "seed" not in spec:
            raise RuleSpecError("neural rule: a 'seed' is required (it determines the weights)")
        out = {"family": self.name, "preset": preset, **PRESETS[preset], "n_states": 10, **spec}
        require_int(out, "seed", 0, 2**63 - 1)
        require_int(out, "n_states", 2, 40)
        require_float(out, "tau", low=0.0)
        require_float(out, "beta")
        return out

    def num_states(self, spec: RuleSpec) -> int:
        return spec["n_states"]

    def group_key(self, spec: RuleSpec) -> Any:
        return (spec["n_states"], spec["preset"])

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        n = specs[0]["n_states"]
        preset = specs[0]["preset"]
        # each distinct rule is drawn once (fingerprinting repeats a rule once per probe grid)
        seeds, index = np.unique(np.array([s["seed"] for s in specs], dtype=np.int64), return_inverse=True)
        w1, w2, w3 = batch_weights(seeds.tolist(), preset, n)
        eff = state_weights(preset, w1).reshape(len(seeds), 9, n, HIDDEN[0])  # (R, 9, n, 4) kernel order
        params = {  # weights of the R distinct rules; index (B,): the rule of each batch entry
            "eff": torch.as_tensor(eff, device=device),
            "w2": torch.as_tensor(w2, device=device),
            "w3": torch.as_tensor(w3, device=device),
            "index": torch.as_tensor(index.reshape(-1), device=device),
            "tau": torch.tensor([s["tau"] for s in specs], dtype=torch.float64, device=device),
            "beta": torch.tensor([s["beta"] for s in specs], dtype=torch.float64, device=device),
        }
        return BatchedRule(self, specs, device, params)

    def rollout(self, rule: BatchedRule, grid: torch.Tensor, keys: torch.Tensor, burn_in: int,
                frames: int) -> torch.Tensor:
        if not use_cpu_kernel(rule):
            return super().rollout(rule, grid, keys, burn_in, frames)
        rollout_rules = _cpu_kernel()
        p = {k: v.numpy() for k, v in rule.params.items()}
        grid, keys = grid.contiguous().numpy(), keys.numpy()
        out = np.empty((grid.shape[0], frames, *grid.shape[1:]), dtype=np.uint8)
        parts = np.array_split(np.arange(len(grid)), max(1, min(cpu_threads_wanted(), len(grid) // 32)))

        def run(idx: np.ndarray) -> None:
            sl = slice(int(idx[0]), int(idx[-1]) + 1)
            rollout_rules(p["eff"], p["w2"], p["w3"], p["index"][sl], p["tau"][sl], p["beta"][sl], keys[sl],
                          grid[sl], burn_in, out[sl])

        if len(parts) == 1:
            run(parts[0])
        else:
            with ThreadPoolExecutor(len(parts)) as pool:  # the kernel releases the GIL
                list(pool.map(run, parts))
        return torch.from_numpy(out)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = _torch_params(rule)
        b, h, w = grid.shape
        n = rule.specs[0]["n_states"]
        fast = _compiled_fast_step() if compile_enabled() else _fast_step
        beta = p["beta"].float() if bool((p["beta"] != 0).any()) else None
        best, unsure = fast(grid, p["table32"], p["w2b"], p["w3t"], beta, p["tau"].float(), n)
        if bool(unsure.any()):
            bi, ci = unsure.nonzero(as_tuple=True)
            best[bi, ci] = self._exact(rule, grid.reshape(b, -1), bi, ci, t, keys, n, h, w)
        return best.reshape(b, h, w)

    @staticmethod
    def _exact(rule: BatchedRule, cells, bi, ci, t, keys, n, h, w) -> torch.Tensor:
        """float64 logits (and Gumbel sampling where τ > 0) for the cells (bi, ci): the canonical rule."""
        p = _torch_params(rule)
        states = cells[bi[:, None], _neighbours(h, w, cells.device)[ci]]  # (U, 9) in kernel order
        eff = p["eff64"]
        flat = ((bi[:, None] * 9 + torch.arange(9, device=bi.device)) * n + states).reshape(-1)
        terms = eff.reshape(-1, HIDDEN[0]).index_select(0, flat).reshape(len(bi), 9, HIDDEN[0])
        hid = terms[:, 0]
        for k in range(1, 9):  # fixed summation order: the same bits on every device
            hid = hid + terms[:, k]
        z = torch.relu(torch.bmm(hid[:, None], p["w2b"][bi].double()))
        logits = torch.bmm(z, p["w3b"][bi].double())[:, 0]
        if bool((p["beta"] != 0).any()):
            logits = logits + p["beta"][bi, None] * torch.nn.functional.one_hot(cells[bi, ci], n).double()
        tau = p["tau"][bi, None]
        if bool((tau > 0).any()):
            pos = ci[:, None] * n + torch.arange(n, device=ci.device)[None]
            u = counter_uniform(keys[bi, None], pos, t, stream=NOISE_STREAM)  # noise of exactly these cells
            gumbel = -torch.log(-torch.log(u))
            logits = torch.where(tau > 0, logits / tau.clamp_min(1e-300) + gumbel, logits)
        return logits.argmax(-1)


def _fast_step(grid, table, w2, w3t, beta, tau, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 next states (B, H·W) and the mask of cells too close to call (see the module docstring)."""
    b = grid.shape[0]
    idx = _row_indices(grid, n)  # (B, 3, H·W): combo index per kernel row
    offsets = (torch.arange(b, device=grid.device) * 3)[:, None] + torch.arange(3, device=grid.device)[None]
    flat = idx + (offsets * n**3)[:, :, None]
    embed = torch.nn.functional.embedding
    hid = embed(flat[:, 0], table) + embed(flat[:, 1], table) + embed(flat[:, 2], table)  # (B, HW, 4)
    z = torch.bmm(hid, w2).relu_()  # (B, HW, 16)
    # logits with the state axis in the middle, (B, n, HW): per-state slices are contiguous rows of cells
    logits = torch.bmm(w3t, z.transpose(1, 2))
    if beta is not None:
        logits = logits + beta[:, None, None] * torch.nn.functional.one_hot(grid.reshape(b, -1), n).transpose(1, 2)
    top, second, best = _top_two(logits)
    unsure = top - second <= FP32_REL_TOL * (top.abs() + second.abs()) + 1e-30 + GUMBEL_SPAN * tau[:, None]
    return best, unsure


def use_cpu_kernel(rule: BatchedRule) -> bool:
    """Whether a rollout of ``rule`` runs the fused CPU kernel (:mod:`.neural_cpu`): on the CPU, for up to
    16 states (its row table has 3·n³ entries), unless ``NCA_CPU_KERNEL=torch`` asks for the torch step."""
    return (rule.device.type == "cpu" and rule.specs[0]["n_states"] <= 16
            and os.environ.get("NCA_CPU_KERNEL", "numba") != "torch" and _cpu_kernel() is not None)


@lru_cache(maxsize=1)
def _cpu_kernel():
    """The kernel's entry point, or None where numba cannot provide it (the torch step gives the same frames)."""
    try:
        from .neural_cpu import rollout_rules
    except ImportError as err:  # e.g. a Python that numba has no wheel for yet
        reason = f"numba is not available ({err})"
    except RuntimeError as err:  # numba found no writable cache folder: set NUMBA_CACHE_DIR
        reason = f"numba could not set up its cache ({err}); set NUMBA_CACHE_DIR to a writable folder"
    else:
        return rollout_rules
    warnings.warn(f"{reason}: CPU rollouts of neural rules use the slower torch step", stacklevel=3)
    return None


def _torch_params(rule: BatchedRule) -> dict[str, torch.Tensor]:
    """The torch step's tables, made on first use: per batch entry, row tables (B·3·n³, 4) float32, float64
    slices, w2, w3 and w3ᵀ."""
    p = rule.params
    if "table32" not in p:
        index = p["index"]  # one copy of the weights per batch entry
        eff, p["w2b"], p["w3b"] = p["eff"][index], p["w2"][index], p["w3"][index]
        b, _, n, _ = eff.shape
        e = eff.reshape(b, 3, 3, n, HIDDEN[0])
        # row table [b, row, a·n² + b·n + c] = eff[row, 0, a] + eff[row, 1, b] + eff[row, 2, c]
        table = e[:, :, 0, :, None, None] + e[:, :, 1, None, :, None] + e[:, :, 2, None, None, :]
        p["table32"] = table.reshape(-1, HIDDEN[0])
        p["eff64"] = eff.double()
        p["w3t"] = p["w3b"].transpose(1, 2).contiguous()
    return p


def compile_enabled() -> bool:
    """``NCA_COMPILE=1`` runs the torch step's float32 fast path through ``torch.compile`` (CUDA, or the CPU
    with ``NCA_CPU_KERNEL=torch``). Results are identical either way: every cell the fast path is unsure
    of is recomputed exactly."""
    return os.environ.get("NCA_COMPILE", "0") not in ("", "0", "false", "False")


@lru_cache(maxsize=1)
def _compiled_fast_step():
    return torch.compile(_fast_step, dynamic=True)


def _top_two(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Largest value, second largest value and (first) index of the largest along dim 1 of (B, n, HW).

    A running pass over the n state slices: elementwise ops on whole rows of cells, far faster than
    torch's reductions over a short axis."""
    top = logits[:, 0]
    second = torch.full_like(top, -torch.inf)
    best = torch.zeros_like(top, dtype=torch.int64)
    for c in range(1, logits.shape[1]):
        value = logits[:, c]
        second = torch.maximum(second, torch.minimum(top, value))
        best = torch.where(value > top, c, best)
        top = torch.maximum(top, value)
    return top, second, best


_NEIGHBOURS: dict[tuple, torch.Tensor] = {}


def _neighbours(h: int, w: int, device: torch.device) -> torch.Tensor:
    """(H·W, 9) flat indices of each cell's 3×3 torus neighbourhood, row-major (the kernel's order)."""
    key = (h, w, str(device))
    if key not in _NEIGHBOURS:
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        rows = [((ys + dy) % h) * w + (xs + dx) % w for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        _NEIGHBOURS[key] = torch.stack([r.reshape(-1) for r in rows], dim=1).to(device)
    return _NEIGHBOURS[key]


def _row_indices(grid: torch.Tensor, n: int) -> torch.Tensor:
    """(B, 3, H*W) index a·n² + b·n + c of the three cells of each kernel row around every cell (torus)."""
    b, h, w = grid.shape
    padded = torch.cat([grid[:, -1:], grid, grid[:, :1]], dim=1)
    padded = torch.cat([padded[:, :, -1:], padded, padded[:, :, :1]], dim=2)
    combo = padded[:, :, :-2] * (n * n) + padded[:, :, 1:-1] * n + padded[:, :, 2:]  # (B, H+2, W)
    return torch.stack([combo[:, r : r + h].reshape(b, -1) for r in range(3)], dim=1)
