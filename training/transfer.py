"""Prepare the language stage from an NCA (stage-1) checkpoint: the transfer step of arXiv 2603.10055.

Only the input embedding and the output head are replaced, sized for the new tokenizer and freshly
initialised; every transformer block and the final norm carry over. The ablation machinery re-initialises
the attention, the MLP and/or the norms of chosen layers ("attention transfers best; MLPs only when the
domains match").

    # keep all blocks (the paper's transfer)
    python -m training.transfer --checkpoint runs/paper-stage1 --tokenizer path/to/text-tokenizer \\
        --output_dir runs/stage2-init
    # ablation: re-initialise attention and MLP of layers 0 and 1
    python -m training.transfer --checkpoint runs/paper-stage1 --tokenizer path/to/text-tokenizer \\
        --output_dir runs/stage2-init --reinit attention,mlp --layers 0,1

Works for any ``transformers`` causal LM whose base model keeps its blocks in ``.layers`` (Llama, Qwen2,
Qwen3, Mistral, …). The output folder holds the model, the new tokenizer and ``transfer.json`` (provenance).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import PreTrainedModel

PARTS = ("attention", "mlp", "norms")
TRANSFER_FILE = "transfer.json"


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The transformer blocks of a causal LM (``model.model.layers`` for Llama / Qwen)."""
    base = getattr(model, "base_model", model)
    layers = getattr(base, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"{type(model).__name__} keeps no blocks in base_model.layers: transfer supports "
                         "Llama/Qwen-style causal LMs")
    return layers


def layer_parts(layer: nn.Module, part: str) -> list[nn.Module]:
    """The sub-modules of one block that make up ``part`` (attention, mlp or norms)."""
    if part == "attention":
        found = [m for name, m in layer.named_children() if "attn" in name or "attention" in name]
    elif part == "mlp":
        found = [m for name, m in layer.named_children() if "mlp" in name or "feed_forward" in name]
    elif part == "norms":
        found = [m for _, m in layer.named_children() if "Norm" in type(m).__name__]
    else:
        raise ValueError(f"unknown part {part!r} to re-initialise; choose from {', '.join(PARTS)}")
    if not found:
        raise ValueError(f"block {type(layer).__name__} has no {part} module to re-initialise")
    return found


def fresh_init_(module: nn.Module, std: float, generator: torch.Generator) -> None:
    """Llama-style initialisation in place: linear / embedding weights ~ N(0, std²), biases 0, norms 1.

    Written out here (not ``model._init_weights``) because transformers skips parameters it has marked as
    loaded, and the draws must come from an explicit generator."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.Linear, nn.Embedding)):
                w = torch.empty(sub.weight.shape, dtype=torch.float32)
                w.normal_(0.0, std, generator=generator)
                sub.weight.copy_(w)
                if getattr(sub, "bias", None) is not None:
                    sub.bias.zero_()
            elif "Norm" in type(sub).__name__:
                if getattr(sub, "weight", None) is not None:
                    sub.weight.fill_(1.0)
                if getattr(sub, "bias", None) is not None:
                    sub.bias.zero_()


def parse_parts(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    parts = tuple(p.strip() for p in items if p.strip() and p.strip() != "none")
    for p in parts:
        if p not in PARTS:
            raise ValueError(f"unknown part {p!r} to re-initialise; choose from {', '.join(PARTS)} (comma-separated)")
    return parts


def parse_layers(value: str | Iterable[int] | None, num_layers: int) -> list[int]:
    """``None`` / ``"all"`` → every layer; ``"0,1"`` → [0, 1]; negative indices count from the end."""
    if value is None or value == "all":
        return list(range(num_layers))
    items = [int(v) for v in value.split(",") if v.strip()] if isinstance(value, str) else [int(v) for v in value]
    out = []
    for i in items:
        j = i + num_layers if i < 0 else i
        if not 0 <= j < num_layers:
            raise ValueError(f"layer {i} does not exist: the model has {num_layers} layers (0..{num_layers - 1})")
        out.append(j)
    return sorted(set(out))


def transfer_model(model: PreTrainedModel, vocab_size: int, *, reinit: Sequence[str] = (),
                   layers: Sequence[int] | str | None = None, seed: int = 0,
                   template: PreTrainedModel | None = None) -> PreTrainedModel:
    """Replace embedding and head of ``model`` (in place) for a ``vocab_size``-token vocabulary.

    New rows are drawn N(0, initializer_range²) from ``seed``. ``reinit`` parts of ``layers`` (default: all
    layers) are re-initialised the same way. With ``template`` (a model of the same architecture and the
    new vocabulary) the new embedding / head and every re-initialised module are *copied* from it instead,
    so that a study can start all its arms from one identical initialisation."""
    if vocab_size <= 0:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    parts = parse_parts(reinit)
    blocks = decoder_layers(model)
    chosen = parse_layers(layers, len(blocks)) if parts else []
    config = model.config
    std = float(getattr(config, "initializer_range", 0.02) or 0.02)
    gen = torch.Generator().manual_seed(int(seed))
    old_emb = model.get_input_embeddings()
    dtype, device = old_emb.weight.dtype, old_emb.weight.device
    hidden = old_emb.weight.shape[1]
    tied = bool(getattr(config, "tie_word_embeddings", False))

    if template is not None:
        t_blocks = decoder_layers(template)
        if len(t_blocks) != len(blocks) or template.get_input_embeddings().weight.shape != (vocab_size, hidden):
            raise ValueError("template must have the same blocks as the model and the new vocabulary size "
                             f"({vocab_size} × {hidden})")
    emb = nn.Embedding(vocab_size, hidden)
    head = nn.Linear(hidden, vocab_size, bias=False)
    if template is not None:
        with torch.no_grad():
            emb.weight.copy_(template.get_input_embeddings().weight)
            head.weight.copy_(template.get_output_embeddings().weight)
    else:
        fresh_init_(emb, std, gen)
        fresh_init_(head, std, gen)
    model.set_input_embeddings(emb.to(device=device, dtype=dtype))
    if tied:
        head.weight = model.get_input_embeddings().weight
    model.set_output_embeddings(head.to(device=device, dtype=dtype))
    config.vocab_size = vocab_size
    if hasattr(config, "get_text_config"):
        config.get_text_config().vocab_size = vocab_size

    for i in chosen:
        for part in parts:
            mods = layer_parts(blocks[i], part)
            if template is not None:
                for mod, ref in zip(mods, layer_parts(decoder_layers(template)[i], part)):
                    mod.load_state_dict(ref.state_dict())
            else:
                for mod in mods:
                    fresh_init_(mod, std, gen)
    return model


def _set_special_ids(model: PreTrainedModel, tokenizer) -> None:
    for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, key, None)
        setattr(model.config, key, value)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, key, value)


def transfer(checkpoint: str | os.PathLike, tokenizer: str | os.PathLike, output_dir: str | os.PathLike, *,
             reinit: Sequence[str] | str = (), layers: Sequence[int] | str | None = None, seed: int = 0) -> Path:
    """Load ``checkpoint``, swap embedding and head for ``tokenizer``'s vocabulary, save to ``output_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    checkpoint, tokenizer_path, output_dir = Path(checkpoint), Path(tokenizer), Path(output_dir)
    for what, path in (("checkpoint", checkpoint), ("tokenizer", tokenizer_path)):
        if not path.exists():
            raise FileNotFoundError(f"{what} folder {path} does not exist (transfer runs offline on local folders)")
    tok = AutoTokenizer.from_pretrained(str(tokenizer_path))
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32)
    old_vocab = model.get_input_embeddings().weight.shape[0]
    parts = parse_parts(reinit)
    chosen = parse_layers(layers, len(decoder_layers(model))) if parts else []
    transfer_model(model, len(tok), reinit=parts, layers=chosen, seed=seed)
    _set_special_ids(model, tok)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output_dir))
    tok.save_pretrained(str(output_dir))
    record = {"source_checkpoint": str(checkpoint), "source_vocab_size": old_vocab, "vocab_size": len(tok),
              "tokenizer": str(tokenizer_path), "reinit": list(parts), "reinit_layers": chosen, "seed": seed,
              "kept": "all transformer blocks and the final norm, except the re-initialised parts"}
    source_encoding = checkpoint / "nca_encoding.json"
    if source_encoding.exists():
        record["source_encoding"] = json.loads(source_encoding.read_text())
    (output_dir / TRANSFER_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return output_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.transfer", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="stage-1 model folder (transformers causal LM)")
    parser.add_argument("--tokenizer", required=True, help="folder of the language tokenizer (AutoTokenizer)")
    parser.add_argument("--output_dir", required=True, help="where to save the prepared model + tokenizer")
    parser.add_argument("--reinit", default="", help=f"comma-separated parts to re-initialise: {', '.join(PARTS)}")
    parser.add_argument("--layers", default="all", help="layers whose parts --reinit resets, e.g. 0,1 (default all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh embedding / head / re-init draws")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        out = transfer(args.checkpoint, args.tokenizer, args.output_dir, reinit=args.reinit,
                       layers=args.layers, seed=args.seed)
    except (ValueError, FileNotFoundError) as err:
        print(f"transfer: error: {err}", file=sys.stderr)
        return 2
    print(f"saved the language-stage model to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
