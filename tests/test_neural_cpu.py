"""The fused CPU kernel of the neural rule computes exactly what the torch step computes."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import nca_core as nc
from nca_core.rules.base import counter_uniform
from nca_core.rules.neural_cpu import counter_uniform as kernel_uniform
from nca_core.rules.neural_cpu import rollout_rules

CASES = [  # preset, states, knobs, simulation settings
    ("paper", 10, {}, nc.SimConfig(burn_in=10, frames=27)),
    ("paper", 10, {"tau": 0.0}, nc.SimConfig(burn_in=3, frames=12)),
    ("paper", 10, {"tau": 1e-3}, nc.SimConfig(burn_in=2, frames=10)),
    ("paper", 4, {"tau": 0.3}, nc.SimConfig(height=6, width=10, burn_in=1, frames=8)),
    ("fixed", 16, {"tau": 1e-2, "beta": 0.7}, nc.SimConfig(height=5, width=7, burn_in=2, frames=6)),
    ("fixed", 2, {}, nc.SimConfig(height=3, width=3, burn_in=0, frames=9)),
]


@pytest.mark.parametrize("preset,n,knobs,config", CASES)
def test_kernel_frames_equal_the_torch_step(monkeypatch, one_torch_thread, preset, n, knobs, config):
    specs = [nc.validate_spec({"family": "neural", "preset": preset, "n_states": n, "seed": 7919 * i + n, **knobs})
             for i in range(60)]
    specs += specs[:5]  # a rule on several grids shares its row table in the kernel
    seeds = list(range(1000, 1000 + len(specs)))
    kernel = nc.rollout(specs, seeds, config, device="cpu")
    assert rollout_rules.signatures, "the CPU kernel did not run"
    monkeypatch.setenv("NCA_CPU_KERNEL", "torch")
    step = nc.rollout(specs, seeds, config, device="cpu")
    assert torch.equal(kernel, step)
    assert len(torch.unique(kernel[:, -1].reshape(len(specs), -1), dim=0)) > 20  # not a trivial agreement


def test_kernel_threads_and_batches_do_not_change_frames(monkeypatch):
    specs = nc.sample_rules("neural", 70, seed=11)
    seeds = list(range(70))
    one = nc.rollout(specs, seeds, device="cpu")
    monkeypatch.setenv("NCA_THREADS", "2")
    assert torch.equal(nc.rollout(specs, seeds, device="cpu", batch_size=33), one)


def test_kernel_noise_is_the_counter_noise_bit_for_bit():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63 - 1, 200)
    pos = rng.integers(0, 10_000, 200)
    for t, stream in ((0, 7), (36, 7), (5, 2)):
        ref = counter_uniform(torch.as_tensor(keys), torch.as_tensor(pos), t, stream).numpy()
        got = np.array([kernel_uniform(int(k), int(p), t, stream) for k, p in zip(keys, pos)])
        assert ref.tobytes() == got.tobytes()


def test_without_numba_the_torch_step_gives_the_same_frames(tmp_path):
    script = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None  # as on a Python numba has no wheel for\n"
        "import numpy as np, nca_core as nc\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    frames = nc.rollout(nc.sample_rules('neural', 40, seed=3), range(40), device='cpu')\n"
        "assert any('torch step' in str(w.message) for w in caught), [str(w.message) for w in caught]\n"
        f"np.save({str(tmp_path / 'frames.npy')!r}, frames.numpy())\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    expected = nc.rollout(nc.sample_rules("neural", 40, seed=3), range(40), device="cpu").numpy()
    assert rollout_rules.signatures
    np.testing.assert_array_equal(np.load(tmp_path / "frames.npy"), expected)
