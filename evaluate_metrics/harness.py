"""The evaluation harness: any causal LM checkpoint → predictions on the four NCA tasks → metrics → report.

    nca eval --model runs/tiny --tasks next_step,long_horizon,rule_id,reverse --num-examples 32 --out eval_out

Pieces (each usable alone, e.g. by the Space):
- :func:`load_model` reads a checkpoint (local folder or Hub id) and its ``nca_encoding.json``.
- :class:`FrameLayout` is how frames become token ids for that model: patch tokens (ids offset by
  ``token_offset``) or the text encoding (one digit token per cell, row and frame separators). Every frame
  has a fixed-length template of forced delimiter tokens and cell slots.
- :func:`predict_frames` decodes greedily, batched, with the KV cache, constrained to the template: the
  delimiters are forced and each cell slot is an argmax over the cell tokens only, so a generated frame
  always has the right structure.
- :func:`candidate_logprobs` scores K candidate rules by the likelihood of the query given each candidate's
  demonstration in context (rule recognition).
- :func:`run_eval` runs the tasks on a held-out task set (:mod:`evaluate_metrics.tasks`), computes the
  metrics (:mod:`evaluate_metrics.scoring`) and the baselines, and writes report.json, report.md and plots.
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

import nca_core as nc
from nca_core.tokens import PatchTokenizer, TextEncoding

from . import scoring
from .tasks import TASKS, TaskSet, TaskSetSpec, build_task_set, get_task_set_spec

ENCODING_FILE = "nca_encoding.json"


# ------------------------------------------------------------------------------------- loading
def read_encoding(path_or_id: str) -> dict:
    """``nca_encoding.json`` of a local checkpoint folder or a Hub model id."""
    local = Path(path_or_id)
    if local.is_dir():
        file = local / ENCODING_FILE
        if not file.is_file():
            raise FileNotFoundError(f"{file} not found: evaluate a checkpoint written by `nca train` "
                                    f"(it saves {ENCODING_FILE} beside the model)")
    else:
        from huggingface_hub import hf_hub_download

        try:
            file = Path(hf_hub_download(path_or_id, ENCODING_FILE))
        except Exception as err:  # offline, missing repo or missing file
            raise FileNotFoundError(f"{path_or_id!r} is neither a local checkpoint folder nor a Hub model "
                                    f"with {ENCODING_FILE} ({type(err).__name__}: {err})") from None
    enc = json.loads(file.read_text())
    missing = {"encoding", "n_states", "height", "width"} - set(enc)
    if missing:
        raise ValueError(f"{file} lacks the keys {sorted(missing)}")
    if enc["encoding"] not in ("patch", "text"):
        raise ValueError(f"{file}: encoding must be 'patch' or 'text', got {enc['encoding']!r}")
    enc.setdefault("patch", 2)
    enc.setdefault("token_offset", 0)
    return enc


def load_model(path_or_id: str, device: str = "auto", dtype: torch.dtype | None = None) -> tuple[Any, dict]:
    """(model in eval mode on ``device``, encoding dict). For text-encoding models the tokenizer is
    loaded too and kept in ``encoding["_tokenizer"]`` (keys starting with ``_`` are not serialised)."""
    from transformers import AutoModelForCausalLM

    encoding = read_encoding(path_or_id)
    model = AutoModelForCausalLM.from_pretrained(path_or_id, **({"dtype": dtype} if dtype is not None else {}))
    model.to(nc.resolve_device(device)).eval()
    if encoding["encoding"] == "text":
        from transformers import AutoTokenizer

        encoding["_tokenizer"] = AutoTokenizer.from_pretrained(path_or_id)
    return model, encoding


def public_encoding(encoding: dict) -> dict:
    return {k: v for k, v in encoding.items() if not k.startswith("_")}


# -------------------------------------------------------------------------------------- layout
@dataclass
class FrameLayout:
    """Token layout of one frame for a model: ``template`` holds the forced token ids with -1 at the
    cell slots, ``slot_ids`` the token id of each slot value (patch ids or digits), ``prefix`` the ids
    that open a sequence (e.g. BOS). A slot covers ``patch``×``patch`` cells (1 for text)."""

    template: torch.Tensor  # (L,) int64
    slot_ids: torch.Tensor  # (V,) int64: token id of slot value v
    prefix: list[int]
    height: int
    width: int
    n_states: int
    patch_tokenizer: PatchTokenizer | None  # patch layouts only

    @property
    def tokens_per_frame(self) -> int:
        return int(self.template.numel())

    @property
    def slots(self) -> torch.Tensor:
        return (self.template < 0).nonzero().squeeze(1)

    def slot_values(self, frames: torch.Tensor) -> torch.Tensor:
        """(…, H, W) states → (…, S) slot values."""
        if self.patch_tokenizer is not None:
            return self.patch_tokenizer.patch_ids(frames)
        return torch.as_tensor(frames).to(torch.int64).flatten(-2)

    def frames_from_values(self, values: torch.Tensor) -> torch.Tensor:
        """(…, S) slot values → (…, H, W) uint8 states."""
        if self.patch_tokenizer is not None:
            return self.patch_tokenizer.frames_from_patch_ids(values)
        return values.reshape(*values.shape[:-1], self.height, self.width).to(torch.uint8)

    def encode(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(B, T, H, W) → (B, T·L) token ids, every frame in its template."""
        frames = torch.as_tensor(np.asarray(frames)).to(torch.int64)
        b, t = frames.shape[:2]
        ids = self.template.repeat(b, t, 1)
        ids[:, :, self.slots] = self.slot_ids[self.slot_values(frames)]
        return ids.reshape(b, t * self.tokens_per_frame)


def frame_layout(encoding: dict) -> FrameLayout:
    """The layout for a model's ``nca_encoding.json`` (text layouts are checked against the tokenizer)."""
    h, w, n = int(encoding["height"]), int(encoding["width"]), int(encoding["n_states"])
    if encoding["encoding"] == "patch":
        tok = PatchTokenizer(n, int(encoding["patch"]), h, w)
        off = int(encoding.get("token_offset", 0))
        template = torch.tensor([off + tok.frame_start] + [-1] * tok.patches_per_frame + [off + tok.frame_end])
        return FrameLayout(template, torch.arange(tok.num_patch_ids) + off, [], h, w, n, tok)
    tokenizer = encoding.get("_tokenizer")
    if tokenizer is None:
        raise ValueError("a text-encoding model needs its tokenizer: load it with load_model() or set "
                         "encoding['_tokenizer']")
    text = TextEncoding(n)

    def ids(s: str) -> list[int]:
        return list(tokenizer(s, add_special_tokens=False)["input_ids"])

    digits = []
    for ch in "0123456789abcdefghijklmnopqrstuvwxyz"[:n]:
        got = ids(ch)
        if len(got) != 1:
            raise ValueError(f"the tokenizer splits the cell character {ch!r} into {len(got)} tokens; the text "
                             "encoding needs one token per cell")
        digits.append(got[0])
    row, frame = ids(text.row_sep), ids(text.frame_sep)
    template: list[int] = []
    for r in range(h):
        template += [-1] * w + (row if r < h - 1 else frame)
    # training (training.data.RowEncoder) tokenizes each frame alone, joins frames with the separator ids
    # and adds no special tokens: the layout must give exactly those ids
    layout = FrameLayout(torch.tensor(template), torch.tensor(digits), [], h, w, n, None)
    probe = np.random.default_rng(0).integers(0, n, size=(1, 2, h, w))
    expected = layout.encode(probe)[0].tolist()
    as_trained = [i for f in probe[0] for i in ids(text.encode_frame(f)) + frame]
    if as_trained != expected:
        raise ValueError("the tokenizer does not split the text encoding into one token per cell plus fixed "
                         "separator tokens (e.g. it merges digits); use a tokenizer that splits digits")
    return layout


def spec_for_model(spec: TaskSetSpec, model, encoding: dict) -> TaskSetSpec:
    """``spec`` on the model's grid and alphabet, with no more frames than it was trained on (its data config)
    or than fit in its context (``max_position_embeddings``)."""
    max_frames = (encoding.get("data_config") or {}).get("frames")
    limit = _max_positions(model)
    if limit:
        layout = _layout(encoding)
        by_positions = (limit - len(layout.prefix)) // layout.tokens_per_frame
        max_frames = min(max_frames or by_positions, by_positions)
    return spec.for_model(encoding, max_frames)


def _layout(encoding: dict) -> FrameLayout:
    cached = encoding.get("_layout")
    if cached is None:
        cached = encoding["_layout"] = frame_layout(encoding)
    return cached


def _max_positions(model) -> int | None:
    value = getattr(model.config, "max_position_embeddings", None)
    return int(value) if value else None


def _cache_kw(model) -> str:
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _logits(model, input_ids: torch.Tensor, keep: int | torch.Tensor, **kwargs):
    """Forward pass computing only the logits at ``keep`` (last n positions, or position indices) where the
    model supports ``logits_to_keep``; otherwise all logits, then selected. Returns (logits, outputs)."""
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        outputs = model(input_ids=input_ids, logits_to_keep=keep, **kwargs)
        return outputs.logits, outputs
    outputs = model(input_ids=input_ids, **kwargs)
    logits = outputs.logits
    return (logits[:, -keep:] if isinstance(keep, int) else logits[:, keep]), outputs


def _model_device(model) -> torch.device:
    return next(model.parameters()).device


# ------------------------------------------------------------------------------------ decoding
@torch.no_grad()
def predict_frames(model, encoding: dict, context_frames: torch.Tensor | np.ndarray, horizon: int,
                   batch_size: int = 32, progress: bool = False) -> torch.Tensor:
    """Greedy constrained rollout: ``context_frames`` (B, N, H, W) → uint8 (B, horizon, H, W) on CPU.

    Batched, with the KV cache; delimiters are forced and every cell slot is an argmax over the cell
    tokens, so each generated frame is well formed."""
    layout = _layout(encoding)
    context = torch.as_tensor(np.asarray(context_frames)).to(torch.int64)
    if context.ndim != 4 or tuple(context.shape[-2:]) != (layout.height, layout.width):
        raise ValueError(f"context_frames must be (B, N, {layout.height}, {layout.width}), got {tuple(context.shape)}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    total = len(layout.prefix) + (context.shape[1] + horizon) * layout.tokens_per_frame
    limit = _max_positions(model)
    if limit and total > limit:
        raise ValueError(f"{context.shape[1]} context + {horizon} generated frames need {total} positions but the "
                         f"model has {limit}: show fewer context frames or a shorter horizon")
    out = []
    for start in tqdm(range(0, len(context), batch_size), desc="decode", disable=not progress, leave=False):
        out.append(_greedy_batch(model, layout, context[start : start + batch_size], horizon))
    return torch.cat(out) if out else torch.empty((0, horizon, layout.height, layout.width), dtype=torch.uint8)


def _greedy_batch(model, layout: FrameLayout, context: torch.Tensor, horizon: int) -> torch.Tensor:
    device = _model_device(model)
    b = len(context)
    prompt = layout.encode(context)
    if layout.prefix:
        prompt = torch.cat([torch.tensor(layout.prefix).repeat(b, 1), prompt], dim=1)
    template = layout.template.tolist()
    allowed = layout.slot_ids.to(device)
    cache_kw = _cache_kw(model)
    cache = None
    pending = prompt.to(device)
    values = torch.empty((b, horizon, int((layout.template < 0).sum())), dtype=torch.int64, device=device)
    for f in range(horizon):
        slot = 0
        for token in template:
            if token >= 0:  # forced delimiter: fed with the next model call
                pending = torch.cat([pending, torch.full((b, 1), token, device=device)], dim=1)
                continue
            kwargs = {cache_kw: cache} if cache is not None else {}
            logits, outputs = _logits(model, pending, 1, use_cache=True, **kwargs)
            cache = outputs.cache if "cache" in outputs else outputs.past_key_values
            choice = logits[:, -1, :].index_select(-1, allowed).argmax(-1)
            values[:, f, slot] = choice
            slot += 1
            pending = allowed[choice][:, None]
    return layout.frames_from_values(values.cpu())


@torch.no_grad()
def candidate_logprobs(model, encoding: dict, demos: torch.Tensor | np.ndarray, query: torch.Tensor | np.ndarray,
                       batch_size: int = 16, progress: bool = False) -> torch.Tensor:
    """Rule recognition by likelihood: ``demos`` (B, K, D, H, W) one demonstration per candidate,
    ``query`` (B, Q, H, W). Returns (B, K): log p(cells of query frames 2..Q | demo_k, query frame 1),
    summed over cell tokens (delimiters are forced, so they carry no evidence)."""
    layout = _layout(encoding)
    demos = torch.as_tensor(np.asarray(demos)).to(torch.int64)
    query = torch.as_tensor(np.asarray(query)).to(torch.int64)
    b, k, d = demos.shape[:3]
    q = query.shape[1]
    seqs = layout.encode(torch.cat([demos, query[:, None].expand(b, k, *query.shape[1:])], dim=2).flatten(0, 1))
    if layout.prefix:
        seqs = torch.cat([torch.tensor(layout.prefix).repeat(len(seqs), 1), seqs], dim=1)
    limit = _max_positions(model)
    if limit and seqs.shape[1] > limit:
        raise ValueError(f"a demonstration of {d} frames plus a query of {q} frames needs {seqs.shape[1]} positions "
                         f"but the model has {limit}: use shorter demonstrations")
    per = layout.tokens_per_frame
    first = len(layout.prefix) + (d + 1) * per
    scored = torch.tensor([first + f * per + int(s) for f in range(q - 1) for s in layout.slots])  # targets
    device = _model_device(model)
    out = []
    for start in tqdm(range(0, len(seqs), batch_size), desc="rule likelihood", disable=not progress, leave=False):
        x = seqs[start : start + batch_size].to(device)
        logits, _ = _logits(model, x, (scored - 1).to(device), use_cache=False)
        logp = torch.log_softmax(logits.float(), dim=-1)
        out.append(logp.gather(-1, x[:, scored.to(device)][..., None]).squeeze(-1).sum(-1).cpu())
    return torch.cat(out).reshape(b, k)


# ---------------------------------------------------------------------------------- baselines
def _most_frequent(frames: np.ndarray) -> int:
    return int(np.bincount(np.asarray(frames).ravel()).argmax())


def _chance_grids(shape: tuple, n_states: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, n, size=shape) for n in n_states]).astype(np.uint8)


def _oracle_rollout(examples: list[dict], horizon: int) -> np.ndarray:
    """The true rule continued from the last context frame (not the stored answer)."""
    last = np.stack([e["context"][-1] for e in examples])
    h, w = last.shape[-2:]
    sim = nc.rollout([e["rule_spec"] for e in examples], [e["init_seed"] for e in examples],
                     nc.SimConfig(height=h, width=w, burn_in=0, frames=horizon + 1), initial=last, device="cpu")
    return sim[:, 1:].numpy()


# ------------------------------------------------------------------------------------ the tasks
def _groups(examples: list[dict]) -> tuple[list[str], list[str]]:
    return [e["family"] for e in examples], [e["band"] for e in examples]


def _with_breakdowns(fn, examples: list[dict], *args, **kwargs) -> dict:
    fam, band = _groups(examples)
    result = fn(*args, groups=fam, **kwargs)
    result["by_family"] = result.pop("groups")
    result["by_band"] = fn(*args, groups=band, **kwargs)["groups"]
    return result


def eval_trajectory_tasks(model, encoding: dict, examples: list[dict], tasks: list[str], threshold: float,
                          batch_size: int, progress: bool) -> dict:
    """next_step and long_horizon from one constrained rollout (next_step = its first frame)."""
    horizon = len(examples[0]["target"]) if "long_horizon" in tasks else 1
    context = np.stack([e["context"] for e in examples])
    truth = np.stack([e["target"][:horizon] for e in examples])
    n_states = [e["n_states"] for e in examples]
    preds: dict[str, np.ndarray] = {}
    if model is not None:
        preds["model"] = predict_frames(model, encoding, context, horizon, batch_size, progress).numpy()
    preds["copy_last_frame"] = np.repeat(context[:, -1:], horizon, axis=1)
    preds["most_frequent_state"] = np.stack([np.full(truth.shape[1:], _most_frequent(c), np.uint8) for c in context])
    preds["oracle"] = _oracle_rollout(examples, horizon)
    preds["chance"] = _chance_grids(truth.shape[1:], n_states, seed=0)
    out = {}
    for task in tasks:
        scores = {}
        for name, pred in preds.items():
            if task == "next_step":
                scores[name] = _with_breakdowns(scoring.next_step_scores, examples, list(pred[:, 0]),
                                                list(truth[:, 0]), n_states=n_states)
            else:
                scores[name] = _with_breakdowns(scoring.long_horizon_scores, examples, list(pred), list(truth),
                                                threshold=threshold, n_states=n_states)
        out[task] = _assemble(scores)
    return out


def eval_rule_id(model, encoding: dict, examples: list[dict], batch_size: int, progress: bool) -> dict:
    demos = np.stack([e["demos"] for e in examples])
    query = np.stack([e["query"] for e in examples])
    k = demos.shape[1]
    picks: dict[str, np.ndarray] = {}
    if model is not None:
        picks["model"] = candidate_logprobs(model, encoding, demos, query, batch_size, progress).argmax(-1).numpy()
    picks["oracle"] = np.array([e["answer"] for e in examples])  # the true rule
    # the best any recogniser can do from the query alone: candidates that reproduce it equally are tied
    picks["simulate_candidates"] = _simulated_rule_pick(examples)
    picks["chance"] = np.random.default_rng(0).integers(0, k, size=len(examples))
    out = {}
    for name, pick in picks.items():
        predicted = [e["candidates"][int(p)] for e, p in zip(examples, pick)]
        truth = [e["rule_spec"] for e in examples]
        identity = _with_breakdowns(scoring.rule_id_scores, examples, predicted, truth,
                                    query_trajectories=[e["query"] for e in examples], predicted_specs=predicted,
                                    seeds=[e["init_seed"] for e in examples])
        family = scoring.rule_id_scores([e["candidate_families"][int(p)] for e, p in zip(examples, pick)],
                                        [e["family"] for e in examples], labels=sorted(nc.FAMILIES))
        out[name] = {"accuracy": identity["accuracy"], "functional_accuracy": identity["functional_accuracy"],
                     "macro_f1": identity["macro_f1"], "family_accuracy": family["accuracy"],
                     "family_macro_f1": family["macro_f1"], "family_labels": family["labels"],
                     "family_confusion_matrix": family["confusion_matrix"], "candidates": k,
                     "num_examples": identity["num_examples"], "num_malformed": identity["num_malformed"],
                     "by_family": identity["by_family"], "by_band": identity["by_band"]}
    for name in ("by_family", "by_band"):  # identity confusion matrices over spec strings are unreadable
        for res in out.values():
            for g in res[name].values():
                g.pop("labels", None)
                g.pop("confusion_matrix", None)
    return _assemble(out)


def _simulated_rule_pick(examples: list[dict]) -> np.ndarray:
    """Simulate every candidate from the query's first frame (one batched rollout); pick the candidate
    that reproduces the query best. A candidate whose alphabet cannot hold the query scores -1."""
    from nca_core.rules import num_states

    pairs, specs, seeds, grids = [], [], [], []
    for i, e in enumerate(examples):
        for j, c in enumerate(e["candidates"]):
            if int(e["query"][0].max()) < num_states(nc.validate_spec(c)):
                pairs.append((i, j))
                specs.append(c)
                seeds.append(e["init_seed"])
                grids.append(e["query"][0])
    score = np.full((len(examples), max(len(e["candidates"]) for e in examples)), -1.0)
    if pairs:
        q = examples[0]["query"]
        sim = nc.rollout(specs, seeds, nc.SimConfig(height=q.shape[1], width=q.shape[2], burn_in=0, frames=len(q)),
                         initial=np.stack(grids).astype(np.int64), device="cpu").numpy()
        for (i, j), s in zip(pairs, sim):
            score[i, j] = float((s == examples[i]["query"]).mean())
    return score.argmax(1)


def eval_reverse(model, encoding: dict, examples: list[dict], batch_size: int, progress: bool) -> dict:
    steps = int(examples[0]["steps"])
    final = np.stack([e["final"] for e in examples])
    n_states = [e["n_states"] for e in examples]
    preds: dict[str, np.ndarray] = {}
    if model is not None:  # demonstration shown backwards in time, then the final grid: continue backwards
        context = np.concatenate([np.stack([e["demo"][::-1] for e in examples]), final[:, None]], axis=1)
        preds["model"] = predict_frames(model, encoding, context, steps, batch_size, progress).numpy()[:, -1]
    preds["copy_last_frame"] = final
    preds["most_frequent_state"] = np.stack([np.full(final.shape[1:], _most_frequent(f), np.uint8) for f in final])
    preds["oracle"] = np.stack([e["initial"] for e in examples])
    preds["chance"] = _chance_grids(final.shape[1:], n_states, seed=1)
    scores = {name: _with_breakdowns(scoring.reverse_scores, examples, list(p), list(final),
                                     [e["rule_spec"] for e in examples], steps=steps,
                                     initial_grids=[e["initial"] for e in examples])
              for name, p in preds.items()}
    return _assemble(scores)


def _assemble(scores: dict[str, dict]) -> dict:
    """{"model": m, baseline: b, …} → {metric: m…, "baselines": {baseline: b}} (model-free: baselines only)."""
    main = dict(scores.get("model", {}))
    main["baselines"] = {k: v for k, v in scores.items() if k != "model"}
    return main


# ---------------------------------------------------------------------------------------- run
def run_eval(model_path: str | None, tasks: list[str] | str = TASKS, num_examples: int | None = None,
             out_dir: str | Path | None = None, task_set: str | TaskSet = "nca-eval-v1", batch_size: int = 32,
             device: str = "auto", progress: bool = True, model=None, encoding: dict | None = None,
             plots: bool = True, **task_overrides: Any) -> dict:
    """Evaluate a model (``model_path``, or an already loaded ``model`` + ``encoding``) on ``tasks``.

    Returns ``{task: {metric: value, …, "by_family": …, "by_band": …, "baselines": {name: {…}}}}``;
    with ``out_dir`` also writes report.json, meta.json, report.md and PNG plots there. With neither a
    model nor a path, only the baselines are computed (on the encoding's grid, default 12×12×10)."""
    tasks = [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else list(tasks)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ValueError(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}")
    if num_examples is not None and num_examples < 1:
        raise ValueError(f"--num-examples must be >= 1, got {num_examples}")
    started = time.time()
    if model is None and model_path is not None:
        model, encoding = load_model(model_path, device=device)
    if model is not None and encoding is None:
        raise ValueError("pass the model's encoding dict with model= (load_model returns both)")
    encoding = encoding or {"encoding": "none", "n_states": 10, "height": 12, "width": 12}
    if isinstance(task_set, TaskSet):
        ts = task_set
    else:
        spec = get_task_set_spec(task_set, **task_overrides)
        spec = spec.for_model(encoding) if model is None else spec_for_model(spec, model, encoding)
        ts = build_task_set(spec=spec)
    ts = ts.head(num_examples)
    report: dict[str, dict] = {}
    traj = [t for t in tasks if t in ("next_step", "long_horizon")]
    bar = tqdm(total=len(tasks), desc="nca eval", disable=not progress)
    if traj:
        report.update(eval_trajectory_tasks(model, encoding, ts.examples["long_horizon"], traj, ts.spec.threshold,
                                            batch_size, progress))
        bar.update(len(traj))
    if "rule_id" in tasks:
        report["rule_id"] = eval_rule_id(model, encoding, ts.examples["rule_id"], max(1, batch_size // 2), progress)
        bar.update(1)
    if "reverse" in tasks:
        report["reverse"] = eval_reverse(model, encoding, ts.examples["reverse"], batch_size, progress)
        bar.update(1)
    bar.close()
    report = {t: report[t] for t in tasks}
    meta = {"model": model_path or getattr(getattr(model, "config", None), "_name_or_path", None),
            "encoding": public_encoding(encoding), "task_set": ts.spec.label, "task_set_fingerprint": ts.fingerprint(),
            "task_set_spec": ts.spec.to_dict(),
            "coverage": ts.coverage, "num_examples": {t: len(ts.examples[_source(t)]) for t in tasks},
            "seconds": round(time.time() - started, 2)}
    if out_dir is not None:
        from .report import write_report

        write_report(report, meta, out_dir, plots=plots)
    return report


def _source(task: str) -> str:
    return "long_horizon" if task == "next_step" else task
