"""Training throughput: the tiny-cpu recipe, and the data pipeline feeding it (must be >= 10x faster).

    python benchmarks/training.py                 # CPU: tiny-cpu on the `tiny` data config
    python benchmarks/training.py --steps 40 --data-rows 400
    python benchmarks/training.py --gpu           # also (with CUDA) a Qwen2.5-0.5B-sized model in bf16: tokens/s, MFU

Prints progress, then one JSON line (the last line) with:
  train_tokens_per_s   tokens the SFTTrainer consumes per second (tiny-cpu, data from a written folder so the
                       generator's cost is not counted), after a warm-up
  data_tokens_per_s    tokens per second the on-the-fly pipeline produces: builder stream → RowEncoder, i.e.
                       exactly what the trainer reads in the recipe
  data_over_train      their ratio, generator start-up included (target >= 10)
  data_steady_over_train  the same from the first row on (the steady state that feeds a long run)
  folder_data_*        the same for rows read from a written folder (what `nca quickstart` trains from)
  gpu_*                with CUDA: tokens/s and model FLOPs utilisation of a Qwen2.5-0.5B-sized model, random init
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

H200_BF16_PEAK_FLOPS = 989e12  # dense bf16, H100/H200 SXM


def data_throughput(rows: int) -> dict:
    """Tokens/s of the recipe's own input pipeline (on-the-fly builder + encoding) over ``rows`` rows, start-up
    included: the builder works in rounds of candidate rules, so the count must span several rounds."""
    from training.data import RowEncoder, encode_dataset, load_nca_rows, patch_tokenizer_from_config

    start = time.perf_counter()
    raw, cfg = load_nca_rows("tiny", "train")
    encoded = encode_dataset(raw, RowEncoder(patch_tokenizer_from_config(cfg), max_length=1024))
    tokens, first, first_tokens = 0, None, 0
    for _, row in zip(range(rows), encoded):
        tokens += len(row["input_ids"])
        if first is None:
            first, first_tokens = time.perf_counter() - start, tokens
    seconds = time.perf_counter() - start
    return {"data_tokens_per_s": tokens / seconds, "data_rows_per_s": rows / seconds, "data_first_row_s": first,
            "data_steady_tokens_per_s": (tokens - first_tokens) / (seconds - first), "data_rows_timed": rows}


def folder_throughput(folder: Path) -> dict:
    """Tokens/s of the same encoding reading a written folder (what `nca quickstart` trains from)."""
    from training.data import RowEncoder, encode_dataset, load_nca_rows, patch_tokenizer_from_config

    start = time.perf_counter()
    raw, cfg = load_nca_rows(str(folder), "train")
    tokens = rows = 0
    for row in encode_dataset(raw, RowEncoder(patch_tokenizer_from_config(cfg), max_length=1024)):
        tokens, rows = tokens + len(row["input_ids"]), rows + 1
    seconds = time.perf_counter() - start
    return {"folder_data_tokens_per_s": tokens / seconds, "folder_rows_timed": rows}


def train_throughput(steps: int, warmup: int, workdir: Path) -> dict:
    """Tokens/s of tiny-cpu under the SFTTrainer, from a written folder (data cost excluded)."""
    from transformers import TrainerCallback

    import training.pretrain as pretrain
    from training.data import write_sample_folder

    batch = 8
    folder = write_sample_folder(workdir / "data", "tiny", (steps + warmup + 2) * batch)
    times: list[float] = []
    folder_rate = folder_throughput(folder)

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter())

    pretrain.main(["--config", "tiny-cpu", "--dataset_name", str(folder), "--output_dir", str(workdir / "run"),
                   "--max_steps", str(steps + warmup), "--per_device_train_batch_size", str(batch),
                   "--save_strategy", "no", "--logging_steps", "1000", "--disable_tqdm", "true"], callbacks=[Clock()])
    seq_len = 144  # tiny: 8 frames x 18 ids
    timed = times[warmup:]
    seconds = timed[-1] - timed[0]
    return {"train_tokens_per_s": (len(timed) - 1) * batch * seq_len / seconds,
            "train_steps_per_s": (len(timed) - 1) / seconds, "train_batch": batch, "train_seq_len": seq_len,
            **folder_rate}


def gpu_throughput(steps: int = 20, warmup: int = 5, batch: int = 16, seq_len: int = 1024, device: str = "cuda",
                   **config_overrides) -> dict:
    """A Qwen2.5-0.5B-sized decoder (24 layers, width 896, 14 heads / 2 KV, MLP 4864, vocab 151,936, tied),
    random init, bf16 weights + AdamW, one optimizer step per batch of NCA-like ids; tokens/s and MFU."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    cfg = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=seq_len,
                      tie_word_embeddings=True)
    for key, value in config_overrides.items():  # smaller shapes for a smoke run on CPU
        setattr(cfg, key, value)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device == "cuda")
    n_params = sum(p.numel() for p in model.parameters())
    embed = cfg.vocab_size * cfg.hidden_size
    # 6 FLOPs per parameter per token for the matmuls (the tied head counts once as a matmul, the embedding
    # lookup is free) + causal attention scores/values (12 * layers * width * seq / 2 for the causal half)
    flops_per_token = 6 * n_params + 6 * cfg.num_hidden_layers * cfg.hidden_size * seq_len
    gen = torch.Generator(device=device).manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq_len), device=device, generator=gen)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync()
    seconds = time.perf_counter() - start
    tps = steps * batch * seq_len / seconds
    return {"gpu_model": "qwen2.5-0.5b-sized", "gpu_params": n_params, "gpu_nonembedding_params": n_params - embed,
            "gpu_tokens_per_s": tps, "gpu_mfu": tps * flops_per_token / H200_BF16_PEAK_FLOPS,
            "gpu_batch": batch, "gpu_seq_len": seq_len,
            "gpu_name": torch.cuda.get_device_name(0) if device == "cuda" else device,
            "gpu_peak_flops_assumed": H200_BF16_PEAK_FLOPS}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--data-rows", type=int, default=1024,
                        help="rows timed from the on-the-fly stream (start-up included; span several rounds)")
    parser.add_argument("--gpu", action="store_true", help="also the Qwen2.5-0.5B-sized bf16 run (needs CUDA)")
    parser.add_argument("--gpu-batch", type=int, default=16)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import yaml

    from training.pretrain import resolve_recipe

    threads = yaml.safe_load(resolve_recipe("tiny-cpu").read_text()).get("torch_num_threads")
    if threads:  # the data pipeline runs in the trainer's process: measure it with the recipe's thread count
        torch.set_num_threads(threads)
    result: dict = {"cpu_threads": torch.get_num_threads()}
    print("data pipeline …", file=sys.stderr)
    result.update(data_throughput(args.data_rows))
    with tempfile.TemporaryDirectory(prefix="nca-bench-train-") as tmp:
        print("tiny-cpu training …", file=sys.stderr)
        result.update(train_throughput(args.steps, args.warmup, Path(tmp)))
    result["data_over_train"] = result["data_tokens_per_s"] / result["train_tokens_per_s"]
    result["data_steady_over_train"] = result["data_steady_tokens_per_s"] / result["train_tokens_per_s"]
    result["folder_data_over_train"] = result["folder_data_tokens_per_s"] / result["train_tokens_per_s"]
    if args.gpu or torch.cuda.is_available():
        if torch.cuda.is_available():
            print("Qwen2.5-0.5B-sized bf16 on GPU …", file=sys.stderr)
            result.update(gpu_throughput(batch=args.gpu_batch))
        else:
            result["gpu"] = "no CUDA device: skipped"
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
