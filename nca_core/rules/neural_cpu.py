"""The neural rule's CPU kernel: a whole rollout per rule, fused and compiled with numba.

The torch step (:mod:`.neural`) runs a chain of batched tensor ops; on a CPU most of its time goes to
moving (batch, cells, channels) tensors between them. Here each rule runs all its steps in one compiled
loop over arrays that stay in L1 cache: row-table lookups → 4 → ReLU(16) → n logits → top two, then the
exact float64 path (and Gumbel sampling) for the few cells the float32 margin cannot decide.

It computes the same function as the torch step: the same float64 canonical rule, the same
counter-based noise, the same margin test (``tests/test_neural_cpu.py`` checks frame-for-frame equality).
Rules are independent, so a batch can be split across threads (the kernel releases the GIL).

Shapes: ``eff`` (R, 9, n, 4) float32 per-state slices of the 3×3 conv in kernel order; ``w2`` (R, 4, 16);
``w3`` (R, 16, n) for R distinct rules; ``index`` (B,) the rule of each trajectory; ``tau``, ``beta`` (B,)
float64; ``keys`` (B,) int64; ``grid`` (B, H, W) int64; ``out`` (B, T, H, W) uint8 receives frames
``burn_in … burn_in + T - 1``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .base import HASH_GOLDEN, HASH_M1, HASH_M2, HASH_STEP, HASH_STREAM
from .neural import FP32_REL_TOL, GUMBEL_SPAN, NOISE_STREAM

_U = np.uint64
_GOLDEN, _M1, _M2, _STEP, _STREAM = (_U(c) for c in (HASH_GOLDEN, HASH_M1, HASH_M2, HASH_STEP, HASH_STREAM))


@njit(nogil=True, cache=True)
def counter_uniform(key: int, pos: int, t: int, stream: int) -> float:
    """:func:`nca_core.rules.base.counter_uniform` for one value, bit for bit (uint64 wraps as int64 does)."""
    x = _U(key) * _GOLDEN + _U(pos) * _M1 + (_U(t) * _STEP + _U(stream) * _STREAM)
    for _ in range(2):
        x = x ^ (x >> _U(30))
        x = x * _M1
        x = x ^ (x >> _U(27))
        x = x * _M2
        x = x ^ (x >> _U(31))
    return (np.float64(x >> _U(11)) + 0.5) / 9007199254740992.0


@njit(nogil=True, cache=True, boundscheck=False)
def rollout_rules(eff, w2, w3, index, tau, beta, keys, grid, burn_in, out):
    """Simulate trajectory b with the weights of rule ``index[b]`` from ``grid[b]``; fills ``out``.

    A run of equal indices (one rule on several grids) shares the rule's row table."""
    n = eff.shape[2]
    table = np.empty((3, n * n * n, 4), np.float32)
    for b in range(grid.shape[0]):
        r = index[b]
        if b == 0 or r != index[b - 1]:
            _row_table(eff[r], table)
        _rollout_one(table, eff[r], w2[r], w3[r], tau[b], beta[b], keys[b], grid[b], burn_in, out[b])


@njit(nogil=True, cache=True, boundscheck=False)
def _row_table(eff, table):
    """table[r, a·n² + b·n + c] = eff[3r, a] + eff[3r+1, b] + eff[3r+2, c]: three lookups per cell."""
    n = eff.shape[1]
    pair = np.empty(4, np.float32)
    for r in range(3):
        for a in range(n):
            for bb in range(n):
                for q in range(4):
                    pair[q] = eff[3 * r, a, q] + eff[3 * r + 1, bb, q]
                i = (a * n + bb) * n
                for cc in range(n):
                    for q in range(4):
                        table[r, i + cc, q] = pair[q] + eff[3 * r + 2, cc, q]


@njit(nogil=True, cache=True, boundscheck=False)
def _rollout_one(table, eff, w2, w3, tau, beta, key, grid, burn_in, out):
    h, w = grid.shape
    n = eff.shape[1]
    hw, nn = h * w, n * n
    hidden = w2.shape[1]
    cur = np.empty(hw, np.int64)
    nxt = np.empty(hw, np.int64)
    combo = np.empty(hw, np.int64)
    hid = np.empty((4, hw), np.float32)
    z = np.empty(hw, np.float32)
    logit = np.empty((n, hw), np.float32)
    top = np.empty(hw, np.float32)
    second = np.empty(hw, np.float32)
    best = np.empty(hw, np.int64)
    exact = np.empty(n, np.float64)
    tol = np.float32(GUMBEL_SPAN) * np.float32(tau)
    beta32 = np.float32(beta)
    for y in range(h):
        for x in range(w):
            cur[y * w + x] = grid[y, x]
    steps = burn_in + out.shape[0]
    for t in range(steps):
        if t >= burn_in:
            for y in range(h):
                for x in range(w):
                    out[t - burn_in, y, x] = cur[y * w + x]
        if t == steps - 1:
            break
        for y in range(h):  # combo index of each cell's row of three (torus)
            for x in range(w):
                left = x - 1 if x > 0 else w - 1
                right = x + 1 if x < w - 1 else 0
                combo[y * w + x] = cur[y * w + left] * nn + cur[y * w + x] * n + cur[y * w + right]
        for y in range(h):
            up = y - 1 if y > 0 else h - 1
            down = y + 1 if y < h - 1 else 0
            for x in range(w):
                c = y * w + x
                i0, i1, i2 = combo[up * w + x], combo[c], combo[down * w + x]
                for q in range(4):
                    hid[q, c] = (table[0, i0, q] + table[1, i1, q]) + table[2, i2, q]
        for s in range(n):
            for c in range(hw):
                logit[s, c] = 0.0
        for j in range(hidden):
            a0, a1, a2, a3 = w2[0, j], w2[1, j], w2[2, j], w2[3, j]
            for c in range(hw):
                v = a0 * hid[0, c] + a1 * hid[1, c] + a2 * hid[2, c] + a3 * hid[3, c]
                z[c] = v if v > 0 else np.float32(0.0)
            for s in range(n):
                ws = w3[j, s]
                for c in range(hw):
                    logit[s, c] += ws * z[c]
        if beta32 != 0:
            for c in range(hw):
                logit[cur[c], c] += beta32
        for c in range(hw):  # running top two over the states, vectorised over cells
            top[c] = logit[0, c]
            second[c] = -np.inf
            best[c] = 0
        for s in range(1, n):
            for c in range(hw):
                v = logit[s, c]
                tc = top[c]
                second[c] = max(second[c], min(tc, v))
                best[c] = s if v > tc else best[c]
                top[c] = max(tc, v)
        for c in range(hw):
            close = np.float32(FP32_REL_TOL) * (abs(top[c]) + abs(second[c])) + np.float32(1e-30) + tol
            if top[c] - second[c] <= close:
                nxt[c] = _exact_cell(eff, w2, w3, tau, beta, key, cur, c, t, h, w, exact)
            else:
                nxt[c] = best[c]
        cur, nxt = nxt, cur


@njit(nogil=True, cache=True, boundscheck=False)
def _exact_cell(eff, w2, w3, tau, beta, key, cur, c, t, h, w, logits):
    """The canonical float64 rule at one cell (fixed summation order), sampled with its counter noise."""
    n = eff.shape[1]
    y, x = c // w, c % w
    h0 = h1 = h2 = h3 = 0.0  # summed in kernel order (0 + the first term is that term, as in the torch step)
    k = 0
    for row in (y - 1 if y > 0 else h - 1, y, y + 1 if y < h - 1 else 0):
        for col in (x - 1 if x > 0 else w - 1, x, x + 1 if x < w - 1 else 0):
            st = cur[row * w + col]
            h0 += np.float64(eff[k, st, 0])
            h1 += np.float64(eff[k, st, 1])
            h2 += np.float64(eff[k, st, 2])
            h3 += np.float64(eff[k, st, 3])
            k += 1
    for s in range(n):
        logits[s] = 0.0
    for j in range(w2.shape[1]):
        v = (h0 * np.float64(w2[0, j]) + h1 * np.float64(w2[1, j])
             + h2 * np.float64(w2[2, j]) + h3 * np.float64(w2[3, j]))
        if v > 0:
            for s in range(n):
                logits[s] += v * np.float64(w3[j, s])
    if beta != 0:
        logits[cur[c]] += beta
    if tau > 0:  # only states within GUMBEL_SPAN of the top can win: draw their noise alone
        top = -np.inf
        for s in range(n):
            logits[s] = logits[s] / tau
            top = max(top, logits[s])
        choice, value = -1, -np.inf
        for s in range(n):
            if logits[s] >= top - GUMBEL_SPAN:
                noisy = logits[s] - math.log(-math.log(counter_uniform(key, c * n + s, t, NOISE_STREAM)))
                if choice < 0 or noisy > value:
                    choice, value = s, noisy
        return choice
    choice = 0
    for s in range(1, n):
        if logits[s] > logits[choice]:
            choice = s
    return choice
