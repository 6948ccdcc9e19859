"""Stream NCA sequences into a hand-written training loop: a tiny random Qwen3 learns the dynamics.

    python examples/stream_train.py                                   # tiny config, 10 steps, CPU, seconds
    python examples/stream_train.py --config paper --steps 500 --batch-size 16 --device cuda --save ckpt/nca
    python examples/stream_train.py --config mixed --steps 50 --save ckpt/mixed && \
        python examples/evaluate_checkpoint.py ckpt/mixed

Rows come from ``dataset_builder.load_nca_dataset`` with ``streaming=True``: they are simulated, scored
and filtered as the loop reads them, nothing is written to disk. Each row's ``input_ids`` are patch tokens
(ids 0..n^(p²)-1, then frame-start / frame-end), fed to the model unchanged. As in the reference, the first
frame is masked out of the loss (there is nothing to predict it from). With ``--save`` the model is
saved with its tokenizer and ``nca_encoding.json``, the layout ``nca eval``, the demo and
``examples/evaluate_checkpoint.py`` read. For real runs use ``nca train`` (TRL / Trainer, recipes, LoRA).
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="tiny", help="data config name (tiny, paper, mixed, neural, ...)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64, help="model width (tiny by default)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--save", default=None, help="folder to save the model, tokenizer and nca_encoding.json")
    return p.parse_args(argv)


def tiny_qwen(vocab_size: int, max_len: int, hidden: int, layers: int):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    heads = max(hidden // 16, 1)
    config = Qwen3Config(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         head_dim=hidden // heads,  # Qwen3Config defaults head_dim to 128 whatever the width
                         max_position_embeddings=max_len, tie_word_embeddings=True)
    return Qwen3ForCausalLM(config)


def batches(stream, batch_size: int):
    """Stacks of ``batch_size`` rows' input_ids (every row of a config has the same length)."""
    rows = iter(stream)
    while chunk := list(itertools.islice(rows, batch_size)):
        yield torch.tensor([r["input_ids"] for r in chunk], dtype=torch.long)


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    from dataset_builder import get_config, load_nca_dataset
    from nca_core import resolve_device

    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    cfg = get_config(args.config, seed=args.seed)
    tok = cfg.tokenizer  # the patch layout of the rows
    stream = load_nca_dataset(cfg, split="train", streaming=True, num_sequences=args.steps * args.batch_size,
                              device=str(device))
    model = tiny_qwen(tok.vocab_size, cfg.sequence_length, args.hidden, args.layers).to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr)
    print(f"config {cfg.name}: {cfg.sequence_length} tokens / row, vocab {tok.vocab_size}, "
          f"model {sum(p.numel() for p in model.parameters()):,} parameters on {device}")
    start, loss = time.time(), torch.tensor(float("nan"))
    for step, ids in enumerate(batches(stream, args.batch_size), start=1):
        ids = ids.to(device)
        labels = ids.clone()
        labels[:, : tok.tokens_per_frame] = -100  # the first frame has no context: not a target
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        print(f"step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.1f}s)")
    if args.save:
        from training.tokenization import encoding_dict, nca_tokenizer, write_encoding

        model.save_pretrained(args.save)
        nca_tokenizer(tok, model_max_length=cfg.sequence_length).save_pretrained(args.save)
        write_encoding(args.save, encoding_dict(tok, "patch", 0, cfg.to_dict(), recipe="examples/stream_train.py"))
        print(f"saved the model, tokenizer and nca_encoding.json to {args.save}")
    return float(loss.item())


if __name__ == "__main__":
    main()
