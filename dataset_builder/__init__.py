"""dataset_builder: NCA data through Hugging Face ``datasets`` — named configs, an on-the-fly builder, a
Hub-ready parquet materialiser (``nca generate``) and the tools around it.

    from dataset_builder import load_nca_dataset
    stream = load_nca_dataset("tiny", split="train")              # IterableDataset, generated on the fly
    ds = load_nca_dataset("tiny", streaming=False, num_train=512)  # prepared to Arrow in the HF cache
"""

from __future__ import annotations

from typing import Any

from .configs import NCADataConfig, config_names, get_config

__all__ = ["NCADataConfig", "config_names", "get_config", "load_nca_dataset"]


def load_nca_dataset(config: str | NCADataConfig = "paper", split: str = "train", streaming: bool = True,
                     num_sequences: int | None = None, num_proc: int | None = None, cache_dir: str | None = None,
                     device: str = "auto", **overrides: Any):
    """NCA sequences of ``split`` as a ``datasets`` (Iterable)Dataset.

    ``config``: a config name (see :func:`config_names`) or an :class:`NCADataConfig`; ``overrides``: config
    fields (``frames=10``, ``band=(0.3, 0.4)``, ``seed=1`` …) or split sizes (``num_train=…``);
    ``num_sequences`` sets the size of ``split``. With ``streaming=True`` rows are generated as they are read
    (in DataLoader workers ``device="auto"`` simulates on the CPU); with ``streaming=False`` only ``split`` is
    prepared (``num_proc`` processes) unless the sizes of the other splits are given."""
    from .builder import NCADatasetBuilder

    if split not in ("train", "validation", "test"):
        raise ValueError(f"unknown split {split!r}; choose train, validation or test")
    if isinstance(config, NCADataConfig):
        data = get_config(config, **{k: v for k, v in overrides.items() if not k.startswith("num_")})
        overrides = {k: v for k, v in overrides.items() if k.startswith("num_")}
        overrides.update({k: v for k, v in data.to_dict().items() if k != "name"})
        name = data.name
    else:
        name = config
    if num_sequences is not None:
        if overrides.get(f"num_{split}") not in (None, num_sequences):
            raise ValueError(f"contradicting sizes: num_sequences={num_sequences} but num_{split}="
                             f"{overrides[f'num_{split}']}; pass only one")
        overrides[f"num_{split}"] = num_sequences
    if not streaming:  # preparing writes every split: only the asked one unless other sizes are given
        for other in ("train", "validation", "test"):
            if other != split:
                overrides.setdefault(f"num_{other}", 0)
    builder = NCADatasetBuilder(config_name=name, cache_dir=cache_dir, device=device, **overrides)
    if streaming:
        return builder.as_streaming_dataset(split=split)
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset(split=split)
