"""``nca study transfer``: does NCA pre-pre-training help a language model learn? (arXiv 2603.10055, small scale)

    nca study transfer                                  # default `small` budget, ~30 min on 2 CPU cores
    nca study transfer --budget micro --out /tmp/s      # seconds: every artefact, numbers meaningless
    nca study transfer --bands 0.5:1.0 0.3:0.4          # sweep the complexity band
    nca study transfer --mixes 1.0 0.5 --families neural lifelike --reinit attention mlp

From one initialisation per seed, each arm trains a tiny Llama-style decoder on the same language corpus
(Python standard-library code, split by module; see :mod:`training.corpus`):

- ``scratch``: the initialisation trained on code only.
- ``nca``: first pre-pre-trained on NCA patch-token trajectories (paper recipe: neural rules, gzip band,
  one trajectory per sequence, 2×2 patches), then :func:`training.transfer.transfer_model` swaps in the
  scratch arm's initial embedding and head; every block and the final norm carry over.
- ``text``: the same number of stage-1 tokens of English (the Python reference manual's topic texts, a
  different source than the target, as C4 is for code in the paper), transferred the same way: only
  the blocks carry over, so NCA and text are compared on equal terms.
- ``shuffled`` (option): the English tokens shuffled inside each sequence (unigram statistics, no structure).

Sweeps add NCA arms one factor at a time from the base NCA arm (the first value of each option): complexity
band, NCA-to-text mixing ratio in stage 1 (the rest English sequences, in their own id range), rule
families (``neural+lifelike`` mixes), and re-initialising attention / MLP / norms at transfer.
Reported: validation perplexity curves against language tokens, final perplexity, and the language tokens
each arm needs to reach scratch's final perplexity (the paper's speed-up = scratch tokens / those tokens),
per seed and as mean ± std. Outputs in ``--out``: results.json, report.md, curves.png, final_ppl.png,
speedup.png, stage1_loss.png.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from training.corpus import LanguageCorpus

NCA_STATES, NCA_PATCH = 10, 2  # the paper's alphabet and patch size (10,000 patch ids + 2 delimiters)
PAPER_BAND = (0.5, 1.0)  # the reference's training band on its gzip-int32 scale


@dataclass(frozen=True)
class Budget:
    """Model size and token counts of one study size. Tokens per step = batch × seq_len."""

    name: str
    hidden: int
    layers: int
    heads: int
    ffn: int
    seq_len: int
    batch: int
    stage1_steps: int
    lang_steps: int
    eval_every: int
    val_sequences: int
    vocab_size: int
    seeds: tuple[int, ...]
    lr_stage1: float = 1e-3
    lr_lang: float = 1e-3
    grid: int = 12
    trajectories_per_rule: int = 2
    nca_states: int = NCA_STATES
    max_train_bytes: int | None = None
    max_validation_bytes: int | None = None
    max_english_bytes: int | None = None

    @property
    def tokens_per_step(self) -> int:
        return self.batch * self.seq_len


BUDGETS: dict[str, Budget] = {
    # seconds; for tests and for trying the pipeline — the numbers mean nothing
    "micro": Budget("micro", hidden=32, layers=2, heads=2, ffn=64, seq_len=64, batch=4, stage1_steps=4,
                    lang_steps=6, eval_every=3, val_sequences=8, vocab_size=300, seeds=(0, 1),
                    lr_stage1=3e-3, lr_lang=3e-3, max_train_bytes=60_000, max_validation_bytes=30_000,
                    max_english_bytes=30_000),
    # the default: ≲ 30 min on 2 CPU cores, 3 seeds × 3 arms
    "small": Budget("small", hidden=96, layers=3, heads=4, ffn=256, seq_len=256, batch=8, stage1_steps=120,
                    lang_steps=180, eval_every=20, val_sequences=32, vocab_size=2048, seeds=(0, 1, 2)),
    # for a GPU (about 8M language tokens per run; many hours on a CPU)
    "medium": Budget("medium", hidden=256, layers=4, heads=8, ffn=768, seq_len=512, batch=16, stage1_steps=500,
                     lang_steps=1000, eval_every=50, val_sequences=128, vocab_size=4096, seeds=(0, 1, 2),
                     lr_stage1=5e-4, lr_lang=5e-4, trajectories_per_rule=1),
}


@dataclass(frozen=True)
class Arm:
    """One condition of the study. ``mix`` is the NCA fraction of stage-1 sequences (the rest English)."""

    name: str
    kind: str  # scratch | nca | text | shuffled
    band: tuple[float, float] | None = None
    mix: float = 1.0
    families: tuple[str, ...] = ("neural",)
    reinit: tuple[str, ...] = ()

    def stage1_key(self) -> tuple:
        """Arms with equal keys share one stage-1 model (they differ only in what transfers)."""
        if self.kind == "nca":
            return (self.kind, self.band, self.mix, self.families)
        return (self.kind,)


@dataclass
class StudyConfig:
    budget: Budget
    arms: list[Arm]
    seeds: tuple[int, ...]
    reinit_layers: str = "all"
    device: str = "auto"
    cache_dir: str | None = None
    command: str = ""


# ------------------------------------------------------------------------------------------------ arms


def parse_band(text: str) -> tuple[float, float] | None:
    """``"0.5:1.0"`` → (0.5, 1.0); ``"none"`` → no complexity filter."""
    if text.lower() in ("none", "all"):
        return None
    try:
        lo, hi = (float(v) for v in text.replace("-", ":").split(":"))
    except ValueError:
        raise ValueError(f"complexity band {text!r} is not LOW:HIGH (e.g. 0.5:1.0) or 'none'") from None
    if not lo < hi:
        raise ValueError(f"complexity band {text!r} needs LOW < HIGH")
    return (lo, hi)


def band_label(band: tuple[float, float] | None) -> str:
    return "none" if band is None else f"{band[0]:g}-{band[1]:g}"


def build_arms(bands: list[str], mixes: list[float], families: list[str], reinit: list[str],
               baselines: list[str]) -> list[Arm]:
    """scratch, the base NCA arm, the baselines, then one NCA arm per extra sweep value."""
    import nca_core as nc
    from training.transfer import PARTS

    parsed_bands = [parse_band(b) for b in bands] or [PAPER_BAND]
    mixes = list(mixes) or [1.0]
    fam_sets = [tuple(f.split("+")) for f in families] or [("neural",)]
    for mix in mixes:
        if not 0.0 < mix <= 1.0:
            raise ValueError(f"NCA mixing ratio {mix} must lie in (0, 1]: the NCA fraction of stage-1 sequences")
    for fam_set in fam_sets:
        for fam in fam_set:
            if fam not in nc.FAMILIES:
                raise ValueError(f"unknown rule family {fam!r}; choose from {', '.join(sorted(nc.FAMILIES))} "
                                 "(join several with '+')")
    for parts in reinit:
        for part in parts.split(","):
            if part not in PARTS:
                raise ValueError(f"unknown part {part!r} for --reinit; choose from {', '.join(PARTS)}")
    for b in baselines:
        if b not in ("text", "shuffled"):
            raise ValueError(f"unknown baseline {b!r}; choose text and/or shuffled")
    base = Arm("nca", "nca", band=parsed_bands[0], mix=mixes[0], families=fam_sets[0])
    arms = [Arm("scratch", "scratch"), base] + [Arm(b, b) for b in dict.fromkeys(baselines)]
    for band in parsed_bands[1:]:
        arms.append(replace(base, name=f"nca band {band_label(band)}", band=band))
    for mix in mixes[1:]:
        arms.append(replace(base, name=f"nca mix {mix:g}", mix=mix))
    for fam_set in fam_sets[1:]:
        arms.append(replace(base, name=f"nca {'+'.join(fam_set)}", families=fam_set))
    for parts in reinit:
        arms.append(replace(base, name=f"nca reinit {parts}", reinit=tuple(parts.split(","))))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"two arms share a name ({names}): drop the repeated sweep value")
    return arms


# ------------------------------------------------------------------------------------------------ data


def nca_rules(families: tuple[str, ...], count: int, band: tuple[float, float] | None, seed: int,
              device: str = "auto", n_states: int = NCA_STATES) -> list[tuple[dict, float | None, int]]:
    """``count`` rules split evenly over ``families``, kept only if their reference gzip score (a separate
    scoring rollout from the given seed) lies in ``band``. Returns (spec, score, scoring seed) triples."""
    import nca_core as nc
    from nca_core.complexity import Band, score_rules

    flt = None if band is None else Band(*band)
    out: list[tuple[dict, float | None, int]] = []
    for k, family in enumerate(families):
        need = count // len(families) + (1 if k < count % len(families) else 0)
        kept: list[tuple[dict, float | None, int]] = []
        tried, rnd = 0, 0
        while len(kept) < need:
            batch = max(64, 2 * (need - len(kept)))
            specs = nc.sample_rules(family, batch, seed=seed * 1009 + rnd, n_states=n_states)
            score_seeds = [seed * 7919 + tried + i for i in range(batch)]
            rnd += 1
            tried += batch
            if flt is None:
                kept.extend((s, None, z) for s, z in zip(specs, score_seeds))
            else:
                scores = score_rules(specs, score_seeds, device=device, n_states=n_states)
                kept.extend((s, float(v), z) for s, v, z in zip(specs, scores, score_seeds) if flt.contains(float(v)))
            if len(kept) < need and tried >= 40 * need + 512:
                raise ValueError(f"only {len(kept)} of {tried} sampled {family} rules fall in the complexity band "
                                 f"{band_label(band)} (scored with {n_states} states): widen the band or choose another "
                                 "family; with fewer states the scores are lower (4 states: median ≈ 0.2)")
        out.extend(kept[:need])
    return out


def nca_sequences(n: int, seq_len: int, families: tuple[str, ...], band: tuple[float, float] | None, seed: int,
                  grid: int = 12, trajectories_per_rule: int = 2, device: str = "auto",
                  n_states: int = NCA_STATES) -> np.ndarray:
    """(n, seq_len) patch-token sequences, one trajectory per sequence (cut to seq_len), as in the paper."""
    import nca_core as nc
    from nca_core.tokens import PatchTokenizer

    tok = PatchTokenizer(n_states, NCA_PATCH, grid, grid)
    n_rules = math.ceil(n / trajectories_per_rule)
    rules = [spec for spec, _, _ in nca_rules(families, n_rules, band, seed, device, n_states)]
    specs = [rules[i % n_rules] for i in range(n)]
    init_seeds = [seed * 1_000_003 + i for i in range(n)]
    frames = math.ceil(seq_len / tok.tokens_per_frame)
    traj = nc.rollout(specs, init_seeds, nc.SimConfig(height=grid, width=grid, burn_in=10, frames=frames),
                      device=device)
    return tok.encode(traj, max_tokens=seq_len).cpu().numpy()


def text_sequences(ids: np.ndarray, n: int, seq_len: int, seed: int, shuffle_tokens: bool = False
                   ) -> tuple[np.ndarray, float]:
    """n sequences drawn from a token stream (repeating it when it is short); returns (rows, epochs)."""
    from training.corpus import chunk

    blocks = chunk(ids, seq_len)
    rng = np.random.default_rng([seed, 0x7E47])
    order = np.concatenate([rng.permutation(len(blocks)) for _ in range(math.ceil(n / len(blocks)))])[:n]
    rows = blocks[order].astype(np.int64)
    if shuffle_tokens:
        rows = np.stack([rng.permutation(r) for r in rows])
    return rows, n / len(blocks)


def stage1_data(arm: Arm, budget: Budget, corpus: LanguageCorpus, seed: int, device: str
                ) -> tuple[np.ndarray, int, dict]:
    """Stage-1 rows, their vocabulary size and a description."""
    n = budget.stage1_steps * budget.batch
    if arm.kind in ("text", "shuffled"):
        rows, epochs = text_sequences(corpus.english_ids, n, budget.seq_len, seed, arm.kind == "shuffled")
        return rows, corpus.vocab_size, {"source": "english", "epochs": round(epochs, 3)}
    nca_vocab = budget.nca_states ** (NCA_PATCH**2) + 2
    n_nca = round(arm.mix * n)
    rows = nca_sequences(n_nca, budget.seq_len, arm.families, arm.band, seed, budget.grid,
                         budget.trajectories_per_rule, device, budget.nca_states)
    info: dict[str, Any] = {"source": "nca", "nca_sequences": n_nca, "families": list(arm.families),
                            "band": arm.band, "rules": math.ceil(n_nca / budget.trajectories_per_rule)}
    if n_nca == n:
        return rows, nca_vocab, info
    text, epochs = text_sequences(corpus.english_ids, n - n_nca, budget.seq_len, seed)
    mixed = np.concatenate([rows, text + nca_vocab])  # English in its own id range after the NCA tokens
    mixed = mixed[np.random.default_rng([seed, 0x313]).permutation(n)]
    info.update(text_sequences=n - n_nca, text_epochs=round(epochs, 3))
    return mixed, nca_vocab + corpus.vocab_size, info


def validation_rows(corpus: LanguageCorpus, budget: Budget) -> np.ndarray:
    """``val_sequences`` blocks spread evenly over the validation stream (fixed for all arms and seeds)."""
    from training.corpus import chunk

    blocks = chunk(corpus.validation_ids, budget.seq_len)
    pick = np.linspace(0, len(blocks) - 1, min(budget.val_sequences, len(blocks))).round().astype(int)
    return blocks[np.unique(pick)].astype(np.int64)


# ------------------------------------------------------------------------------------------------ models


def model_config(budget: Budget, vocab_size: int):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=budget.hidden, intermediate_size=budget.ffn,
                       num_hidden_layers=budget.layers, num_attention_heads=budget.heads,
                       num_key_value_heads=budget.heads, max_position_embeddings=budget.seq_len,
                       tie_word_embeddings=False, initializer_range=0.02, rms_norm_eps=1e-6,
                       bos_token_id=None, eos_token_id=None, pad_token_id=None)


def init_model(budget: Budget, vocab_size: int, seed: int) -> PreTrainedModel:
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(model_config(budget, vocab_size))


def stage1_model(budget: Budget, vocab_size: int, base: PreTrainedModel, seed: int) -> PreTrainedModel:
    """A stage-1 model whose blocks and final norm equal ``base``'s (only embedding and head differ)."""
    model = init_model(budget, vocab_size, seed + 100_003)
    model.model.layers.load_state_dict(base.model.layers.state_dict())
    model.model.norm.load_state_dict(base.model.norm.state_dict())
    return model


class _Rows(torch.utils.data.Dataset):
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = torch.as_tensor(rows, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.rows[i], "labels": self.rows[i]}


def train(model: PreTrainedModel, rows: np.ndarray, *, steps: int, batch: int, lr: float, seed: int,
          work_dir: Path, device: str, eval_rows: np.ndarray | None = None, eval_every: int = 0,
          weight_decay: float = 0.0, tokens_per_step: int = 0) -> dict:
    """Train with ``transformers.Trainer`` (AdamW, cosine, 10% warm-up, clip 1.0); returns loss curves."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    use_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    args = TrainingArguments(
        output_dir=str(work_dir), max_steps=steps, per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch, learning_rate=lr, lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 10), weight_decay=weight_decay, max_grad_norm=1.0, adam_beta2=0.95,
        eval_strategy="steps" if eval_rows is not None else "no", eval_steps=eval_every or None,
        logging_steps=max(1, steps // 25), save_strategy="no", report_to="none", seed=seed, data_seed=seed,
        use_cpu=use_cpu, disable_tqdm=True, dataloader_num_workers=0, bf16=False, fp16=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=_Rows(rows),
                      eval_dataset=_Rows(eval_rows) if eval_rows is not None else None)
    trainer.remove_callback(PrinterCallback)  # the study's own progress bar reports instead
    start = time.perf_counter()
    evals = []
    if eval_rows is not None:
        evals.append((0, trainer.evaluate()["eval_loss"]))
    trainer.train()
    history = trainer.state.log_history
    evals += [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    if eval_rows is not None and evals[-1][0] != steps:
        evals.append((steps, trainer.evaluate()["eval_loss"]))
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "train_loss": [{"step": s, "tokens": s * tokens_per_step, "loss": float(v)} for s, v in losses],
        "curve": [{"step": s, "tokens": s * tokens_per_step, "val_loss": float(v), "val_ppl": float(math.exp(v))}
                  for s, v in evals],
    }


# ------------------------------------------------------------------------------------------------ metrics


def tokens_to_reach(curve: list[dict], target_loss: float) -> float | None:
    """Language tokens at which the validation loss first reaches ``target_loss`` (linear interpolation
    between evaluations); None when it never does."""
    prev = None
    for point in curve:
        if point["val_loss"] <= target_loss:
            if prev is None or prev["val_loss"] == point["val_loss"]:
                return float(point["tokens"])
            frac = (prev["val_loss"] - target_loss) / (prev["val_loss"] - point["val_loss"])
            return float(prev["tokens"] + frac * (point["tokens"] - prev["tokens"]))
        prev = point
    return None


def _stats(values: list[float]) -> dict:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), "n": int(len(arr))}


def summarise(runs: list[dict], arms: list[Arm], seeds: tuple[int, ...]) -> dict:
    """Per run: speed-up against the same seed's scratch run; per arm: mean ± std over seeds."""
    by = {(r["arm"], r["seed"]): r for r in runs}
    for r in runs:
        scratch = by[("scratch", r["seed"])]
        target = scratch["curve"][-1]["val_loss"]
        reach = tokens_to_reach(r["curve"], target)
        r["tokens_to_scratch_final"] = reach
        r["speedup"] = None if not reach else scratch["curve"][-1]["tokens"] / reach
        r["delta_ppl_vs_scratch"] = r["final_ppl"] - scratch["final_ppl"]
    summary = {}
    for arm in arms:
        rs = [by[(arm.name, s)] for s in seeds]
        summary[arm.name] = {
            "final_ppl": _stats([r["final_ppl"] for r in rs]),
            "delta_ppl_vs_scratch": _stats([r["delta_ppl_vs_scratch"] for r in rs]),
            "speedup": _stats([r["speedup"] for r in rs if r["speedup"] is not None]),
            "reached_scratch_final": f"{sum(r['speedup'] is not None for r in rs)}/{len(rs)}",
            "stage1_tokens": rs[0].get("stage1", {}).get("tokens", 0),
            "stage1_final_loss": _stats([r["stage1"]["train_loss"][-1]["loss"] for r in rs
                                         if r.get("stage1", {}).get("train_loss")]),
        }
    return summary


# ------------------------------------------------------------------------------------------------ runner


def run_transfer_study(cfg: StudyConfig, out_dir: str | Path) -> dict:
    """Run every arm for every seed, write results.json, report.md and the plots into ``out_dir``."""
    from tqdm.auto import tqdm

    from training.corpus import load_corpus
    from training.transfer import transfer_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_work"
    b = cfg.budget
    t0 = time.perf_counter()
    corpus = load_corpus(vocab_size=b.vocab_size, max_train_bytes=b.max_train_bytes,
                         max_validation_bytes=b.max_validation_bytes, max_english_bytes=b.max_english_bytes,
                         cache_dir=cfg.cache_dir)
    val = validation_rows(corpus, b)
    corpus_seconds = time.perf_counter() - t0

    stage1_keys = {a.stage1_key() for a in cfg.arms if a.kind != "scratch"}
    total = len(cfg.seeds) * (len(cfg.arms) + len(stage1_keys))
    bar = tqdm(total=total, desc="study transfer", unit="run")
    runs: list[dict] = []
    for seed in cfg.seeds:
        base = init_model(b, corpus.vocab_size, seed)
        lang_rows, _ = text_sequences(corpus.train_ids, b.lang_steps * b.batch, b.seq_len, seed)
        stage1_cache: dict[tuple, tuple[dict, PreTrainedModel]] = {}
        for arm in cfg.arms:
            record: dict[str, Any] = {"arm": arm.name, "seed": seed}
            if arm.kind == "scratch":
                model = copy.deepcopy(base)
            else:
                key = arm.stage1_key()
                if key not in stage1_cache:
                    bar.set_postfix_str(f"seed {seed} stage 1 {arm.name}")
                    t_data = time.perf_counter()
                    rows, vocab, info = stage1_data(arm, b, corpus, seed, cfg.device)
                    data_seconds = time.perf_counter() - t_data
                    s1 = stage1_model(b, vocab, base, seed)
                    res = train(s1, rows, steps=b.stage1_steps, batch=b.batch, lr=b.lr_stage1, seed=seed,
                                work_dir=work, device=cfg.device, tokens_per_step=b.tokens_per_step)
                    info.update(tokens=b.stage1_steps * b.tokens_per_step, vocab_size=vocab,
                                data_seconds=round(data_seconds, 2), seconds=res["seconds"],
                                train_loss=res["train_loss"])
                    stage1_cache[key] = (info, s1)
                    bar.update(1)
                info, s1 = stage1_cache[key]
                model = transfer_model(copy.deepcopy(s1), corpus.vocab_size, reinit=arm.reinit,
                                       layers=cfg.reinit_layers, template=base)
                record["stage1"] = dict(info)
            bar.set_postfix_str(f"seed {seed} language {arm.name}")
            res = train(model, lang_rows, steps=b.lang_steps, batch=b.batch, lr=b.lr_lang, seed=seed,
                        work_dir=work, device=cfg.device, eval_rows=val, eval_every=b.eval_every,
                        weight_decay=1e-4, tokens_per_step=b.tokens_per_step)
            record.update(curve=res["curve"], train_loss=res["train_loss"], seconds=res["seconds"],
                          final_loss=res["curve"][-1]["val_loss"], final_ppl=res["curve"][-1]["val_ppl"])
            runs.append(record)
            bar.update(1)
        del stage1_cache
        done = cfg.seeds[: cfg.seeds.index(seed) + 1]
        if len(done) < len(cfg.seeds):  # partial results after every seed, in case a long run is stopped
            write_outputs(cfg, out, corpus, runs, done, t0, corpus_seconds, val, complete=False)
    bar.close()
    shutil.rmtree(work, ignore_errors=True)
    return write_outputs(cfg, out, corpus, runs, cfg.seeds, t0, corpus_seconds, val, complete=True)


def write_outputs(cfg: StudyConfig, out: Path, corpus: LanguageCorpus, runs: list[dict], seeds: tuple[int, ...],
                  t0: float, corpus_seconds: float, val: np.ndarray, complete: bool) -> dict:
    """Summarise the runs of ``seeds`` and write results.json, the plots and report.md."""
    b = cfg.budget
    lang_needed = b.lang_steps * b.tokens_per_step
    train_blocks = len(corpus.train_ids) // b.seq_len
    summary = summarise(runs, cfg.arms, seeds)
    results = {
        "study": "transfer",
        "command": cfg.command,
        "complete": complete,
        "budget": asdict(b),
        "seeds": list(seeds),
        "seeds_requested": list(cfg.seeds),
        "arms": [asdict(a) for a in cfg.arms],
        "reinit_layers": cfg.reinit_layers,
        "model": {"architecture": "LlamaForCausalLM", "block_parameters": sum(
            p.numel() for p in init_model(b, 8, 0).model.layers.parameters())},
        "corpus": asdict(corpus.stats) | {"language_tokens_per_run": lang_needed,
                                          "train_epochs": round(lang_needed / max(1, train_blocks * b.seq_len), 3),
                                          "validation_tokens_per_eval": int(val.size)},
        "runs": runs,
        "summary": summary,
        "runtime_s": round(time.perf_counter() - t0, 1),
        "corpus_seconds": round(corpus_seconds, 1),
        "platform": {"python": platform.python_version(), "torch": torch.__version__,
                     "device": "cuda" if (cfg.device != "cpu" and torch.cuda.is_available()) else "cpu",
                     "threads": torch.get_num_threads()},
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plots = write_plots(results, out)
    (out / "report.md").write_text(report_markdown(results, plots))
    return results


# ------------------------------------------------------------------------------------------------ outputs


def write_plots(results: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a["name"] for a in results["arms"]]
    runs = results["runs"]
    colors = {name: plt.cm.tab10(i % 10) for i, name in enumerate(arms)}
    written = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in arms:
        curves = [r["curve"] for r in runs if r["arm"] == name]
        tokens = np.array([p["tokens"] for p in curves[0]])
        ppl = np.array([[p["val_ppl"] for p in c] for c in curves])
        ax.plot(tokens, ppl.mean(0), color=colors[name], label=name)
        ax.fill_between(tokens, ppl.min(0), ppl.max(0), color=colors[name], alpha=0.15)
    scratch_final = results["summary"]["scratch"]["final_ppl"]["mean"]
    ax.axhline(scratch_final, color="gray", ls="--", lw=0.8, label="scratch final (mean)")
    ax.set_yscale("log")
    ax.set_xlabel("language tokens")
    ax.set_ylabel("validation perplexity")
    ax.set_title(f"Transfer study ({results['budget']['name']}): mean over {len(results['seeds'])} seeds, band = min–max")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)
    written.append("curves.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, name in enumerate(arms):
        vals = [r["final_ppl"] for r in runs if r["arm"] == name]
        axes[0].bar(i, np.mean(vals), color=colors[name], alpha=0.5)
        axes[0].scatter([i] * len(vals), vals, color=colors[name], s=14, zorder=3)
        deltas = [r["delta_ppl_vs_scratch"] for r in runs if r["arm"] == name]
        axes[1].bar(i, np.mean(deltas), color=colors[name], alpha=0.5)
        axes[1].scatter([i] * len(deltas), deltas, color=colors[name], s=14, zorder=3)
    for ax, title in zip(axes, ("final validation perplexity", "final perplexity − scratch (same seed)")):
        ax.set_xticks(range(len(arms)), arms, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
    axes[1].axhline(0, color="gray", lw=0.8)
    lo = min(r["final_ppl"] for r in runs)
    axes[0].set_ylim(lo * 0.95, max(r["final_ppl"] for r in runs) * 1.02)
    fig.tight_layout()
    fig.savefig(out / "final_ppl.png", dpi=120)
    plt.close(fig)
    written.append("final_ppl.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(arms):
        vals = [r["speedup"] for r in runs if r["arm"] == name and r["speedup"] is not None]
        if vals:
            ax.bar(i, np.mean(vals), color=colors[name], alpha=0.5)
            ax.scatter([i] * len(vals), vals, color=colors[name], s=14, zorder=3)
        missing = sum(1 for r in runs if r["arm"] == name and r["speedup"] is None)
        if missing:
            ax.annotate(f"{missing} seed(s)\nnot reached", (i, 0.05), ha="center", fontsize=7)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xticks(range(len(arms)), arms, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("scratch tokens / tokens to reach scratch's final ppl")
    ax.set_title("Speed-up (per seed, bar = mean of seeds that reached it)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "speedup.png", dpi=120)
    plt.close(fig)
    written.append("speedup.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    seen = set()
    for r in runs:
        s1 = r.get("stage1")
        if not s1 or not s1.get("train_loss"):
            continue
        key = (r["arm"], r["seed"])
        if key in seen:
            continue
        seen.add(key)
        ax.plot([p["tokens"] for p in s1["train_loss"]], [p["loss"] for p in s1["train_loss"]],
                color=colors[r["arm"]], alpha=0.7, label=r["arm"] if r["seed"] == results["seeds"][0] else None)
    ax.set_xlabel("stage-1 tokens")
    ax.set_ylabel("training loss")
    ax.set_title("Stage 1 (pre-pre-training) loss", fontsize=9)
    if seen:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "stage1_loss.png", dpi=120)
    plt.close(fig)
    written.append("stage1_loss.png")
    return written


def _fmt(stats: dict, digits: int = 3) -> str:
    if stats["mean"] is None:
        return "—"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f} [{stats['min']:.{digits}f}, {stats['max']:.{digits}f}]"


def report_markdown(results: dict, plots: list[str]) -> str:
    b = results["budget"]
    c = results["corpus"]
    lines = [
        f"# Transfer study — budget `{b['name']}`",
        "",
        f"Command: `{results['command']}`  ",
        f"Runtime: {results['runtime_s']:.0f} s on {results['platform']['device']} "
        f"({results['platform']['threads']} threads), seeds {results['seeds']}."
        + ("" if results["complete"] else f" **Partial: {len(results['seeds'])} of "
                                          f"{len(results['seeds_requested'])} seeds done.**"),
        "",
        "## Setup",
        "",
        f"- Model: Llama-style decoder, {b['layers']} layers, width {b['hidden']}, {b['heads']} heads, "
        f"SwiGLU {b['ffn']}, {results['model']['block_parameters']:,} parameters in the blocks; "
        f"{b['seq_len']}-token sequences, batch {b['batch']}.",
        f"- Language stage: Python {c['python']} standard-library code, split by top-level module "
        f"({c['train_modules']} train / {c['validation_modules']} validation files, {c['train_tokens']:,} / "
        f"{c['validation_tokens']:,} tokens, byte-level BPE of {c['vocab_size']} tokens trained on the train "
        f"split); {b['lang_steps']} steps = {c['language_tokens_per_run']:,} tokens per run "
        f"({c['train_epochs']} epochs), lr {b['lr_lang']:g}, AdamW wd 1e-4, cosine, clip 1.0; validation on "
        f"{c['validation_tokens_per_eval']:,} tokens every {b['eval_every']} steps.",
        f"- Stage 1: {b['stage1_steps']} steps = {b['stage1_steps'] * b['batch'] * b['seq_len']:,} tokens, "
        f"lr {b['lr_stage1']:g}. NCA: {b['nca_states']}-state rules on a {b['grid']}×{b['grid']} torus, 2×2 patch "
        f"tokens ({b['nca_states'] ** 4 + 2:,}-id vocabulary), one trajectory per sequence, {b['trajectories_per_rule']} "
        "trajectories per rule, complexity band on the reference gzip-int32 scale. English baseline: the "
        f"Python reference manual's topic texts ({c['english_tokens']:,} tokens with the code tokenizer).",
        "- Transfer: every block and the final norm carry over; embedding and head are replaced by the "
        "scratch arm's initial ones, so all arms of a seed share one initialisation.",
        "",
        "## Arms",
        "",
    ]
    for a in results["arms"]:
        desc = {"scratch": "language stage only",
                "text": "stage 1 on English text (matched tokens), blocks transferred",
                "shuffled": "stage 1 on English tokens shuffled within each sequence, blocks transferred"}.get(
            a["kind"], f"stage 1 on NCA: families {'+'.join(a['families'])}, band {band_label(a['band'] and tuple(a['band']))}, "
                       f"NCA fraction {a['mix']:g}" + (f", re-initialised at transfer: {', '.join(a['reinit'])} "
                                                        f"(layers {results['reinit_layers']})" if a["reinit"] else ""))
        lines.append(f"- **{a['name']}**: {desc}")
    lines += [
        "",
        "## Results",
        "",
        "Mean ± std [min, max] over seeds. Δ is the paired difference to scratch of the same seed. Speed-up = "
        "scratch's language tokens / the tokens the arm needs to reach scratch's final validation perplexity "
        "(the paper's measure; stage-1 tokens not counted).",
        "",
        "| arm | final val ppl | Δ ppl vs scratch | speed-up | reached | stage-1 tokens | stage-1 final loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in results["summary"].items():
        lines.append(f"| {name} | {_fmt(s['final_ppl'])} | {_fmt(s['delta_ppl_vs_scratch'])} | "
                     f"{_fmt(s['speedup'], 2)} | {s['reached_scratch_final']} | {s['stage1_tokens']:,} | "
                     f"{_fmt(s['stage1_final_loss'], 2)} |")
    lines += ["", "Per seed (final validation perplexity):", "",
              "| arm | " + " | ".join(f"seed {s}" for s in results["seeds"]) + " |",
              "|---|" + "---|" * len(results["seeds"])]
    for a in results["arms"]:
        vals = [next(r for r in results["runs"] if r["arm"] == a["name"] and r["seed"] == s)["final_ppl"]
                for s in results["seeds"]]
        lines.append(f"| {a['name']} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += [
        "",
        "## Reading this",
        "",
        "The paper's effect was measured at 1.6B parameters after 164M NCA tokens and billions of language "
        "tokens; here both stages are tens of thousands of times smaller, so the question is whether any "
        "of the effect survives at this scale — compare the Δ column with its spread before drawing a "
        "conclusion. The language stage covers well under one epoch of the corpus.",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ CLI


def configure_study(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Transfer study: from one initialisation per seed, compare training on code from scratch, "
                          "after NCA pre-pre-training and after token-matched English pre-pre-training; writes "
                          "results.json, report.md and PNG plots into --out.")
    parser.add_argument("kind", choices=["transfer"], help="which study to run")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="small",
                        help="model size and token counts (micro: seconds; small: ≲30 min on 2 CPU cores)")
    parser.add_argument("--out", default="runs/study-transfer", help="output folder (results.json, report.md, PNGs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the budget's)")
    parser.add_argument("--bands", nargs="+", default=[f"{PAPER_BAND[0]}:{PAPER_BAND[1]}"], metavar="LOW:HIGH",
                        help="complexity bands (gzip-int32 reference scale); the first is the base NCA arm's, each "
                             "further one adds an arm. 'none' = no filter. Paper: 0.5:1.0; code prefers 0.3:0.4")
    parser.add_argument("--mixes", type=float, nargs="+", default=[1.0], metavar="FRACTION",
                        help="NCA fraction of stage-1 sequences (rest: English text); extra values add arms")
    parser.add_argument("--families", nargs="+", default=["neural"], metavar="FAMILY[+FAMILY]",
                        help="rule families of stage 1 (join with + to mix); extra values add arms")
    parser.add_argument("--reinit", nargs="+", default=[], metavar="PARTS",
                        help="ablation arms re-initialising parts at transfer, e.g. attention mlp attention,mlp norms")
    parser.add_argument("--reinit_layers", default="all", help="layers the --reinit arms reset, e.g. 0,1 (default all)")
    parser.add_argument("--baselines", nargs="*", default=["text"], choices=["text", "shuffled"],
                        help="token-matched stage-1 baselines (default: text)")
    parser.add_argument("--nca_states", type=int, default=None,
                        help=f"NCA alphabet size (default {NCA_STATES}, the paper's: 10,002 tokens). Fewer states "
                             "(e.g. 4 → 258 tokens) give a vocabulary a small budget can learn; the complexity "
                             "band is then scored with that alphabet")
    parser.add_argument("--stage1_steps", type=int, default=None, help="override the budget's stage-1 steps")
    parser.add_argument("--lang_steps", type=int, default=None, help="override the budget's language steps")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--cache_dir", default=None, help="corpus/tokenizer cache (default ~/.cache/nca-study)")


def config_from_args(args: argparse.Namespace) -> StudyConfig:
    budget = BUDGETS[args.budget]
    overrides = {k: getattr(args, k) for k in ("stage1_steps", "lang_steps", "nca_states")
                 if getattr(args, k, None) is not None}
    for k, v in overrides.items():
        if v <= 0 or (k == "nca_states" and not 2 <= v <= 36):
            raise ValueError(f"--{k} must be positive (--nca_states between 2 and 36), got {v}")
    budget = replace(budget, **overrides)
    if budget.lang_steps < budget.eval_every:
        budget = replace(budget, eval_every=max(1, budget.lang_steps // 4))
    seeds = tuple(args.seeds) if args.seeds else budget.seeds
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds repeats a seed: {list(seeds)}")
    arms = build_arms(args.bands, args.mixes, args.families, args.reinit, args.baselines)
    from training.transfer import parse_layers

    parse_layers(args.reinit_layers, budget.layers)  # fail early on a bad layer list
    return StudyConfig(budget=budget, arms=arms, seeds=seeds, reinit_layers=args.reinit_layers,
                       device=args.device, cache_dir=args.cache_dir,
                       command=command_line(args))


def command_line(args: argparse.Namespace) -> str:
    """The ``nca study`` command that reproduces ``args`` (recorded in results.json and report.md)."""
    parts = ["nca study", args.kind, "--budget", args.budget, "--out", str(args.out)]
    if args.seeds:
        parts += ["--seeds", *map(str, args.seeds)]
    for key in ("bands", "mixes", "families", "reinit"):
        values = getattr(args, key)
        defaults = {"bands": [f"{PAPER_BAND[0]}:{PAPER_BAND[1]}"], "mixes": [1.0], "families": ["neural"], "reinit": []}
        if values != defaults[key]:
            parts += [f"--{key}", *(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
    if args.reinit:
        parts += ["--reinit_layers", args.reinit_layers]
    if args.baselines != ["text"]:
        parts += ["--baselines", *args.baselines]
    for key in ("nca_states", "stage1_steps", "lang_steps"):
        if getattr(args, key) is not None:
            parts += [f"--{key}", str(getattr(args, key))]
    if args.device != "auto":
        parts += ["--device", args.device]
    return " ".join(parts)


def run_study(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {cfg.device!r}")
    results = run_transfer_study(cfg, args.out)
    print(f"wrote {Path(args.out) / 'report.md'} ({results['runtime_s']:.0f} s)")
    for name, s in results["summary"].items():
        fp, sp = s["final_ppl"], s["speedup"]
        speed = f"{sp['mean']:.2f}x" if sp["mean"] is not None else "not reached"
        print(f"  {name:<24} final ppl {fp['mean']:.3f} ± {fp['std']:.3f}   speed-up {speed} ({s['reached_scratch_final']})")
    return 0


__all__ = ["BUDGETS", "Arm", "Budget", "StudyConfig", "build_arms", "configure_study", "run_study",
           "run_transfer_study", "tokens_to_reach"]
