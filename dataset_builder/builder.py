"""The ``datasets`` builder: NCA data generated on the fly, or prepared to Arrow with ``num_proc`` workers.

    from dataset_builder.builder import NCADatasetBuilder
    builder = NCADatasetBuilder(config_name="tiny", num_train=2048, frames=10)   # overrides: any config field
    builder.download_and_prepare(num_proc=2)        # shards are the work units, spread over processes
    train = builder.as_dataset("train")
    stream = builder.as_streaming_dataset("train")  # nothing written; splits over DataLoader workers / ranks

Each split is a list of shards (``shard_size`` rows each, the last one shorter); a shard's rows depend
only on (config, split, shard index), so every way of spreading shards over processes, DataLoader workers
or ranks (``datasets.distributed.split_dataset_by_node``) yields the same rows. Rows are unique within a
shard; the materialiser (``nca generate``) also makes them unique across shards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import datasets
from datasets.builder import Key

from .configs import ALIASES, PRESETS, NCADataConfig, get_config
from .generate import ShardGenerator, shard_sizes
from .schema import features, public_row

# 512 shards of 10,000: split_dataset_by_node divides shards (not examples) among 1, 2, 4 … 512 ranks; with a
# world size that does not divide the shard count every rank would generate every row and keep 1/world.
DEFAULT_SIZES = {"train": 5_120_000, "validation": 10_000, "test": 10_000}
TINY_SIZES = {"train": 20_000, "validation": 512, "test": 512}


@dataclass
class NCABuilderConfig(datasets.BuilderConfig):
    """A named :class:`NCADataConfig` plus how many rows each split has."""

    data: NCADataConfig | None = None
    num_train: int | None = None
    num_validation: int | None = None
    num_test: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.data is None:
            self.data = get_config(self.name if self.name in PRESETS else "paper")
        sizes = TINY_SIZES if self.data.name == "tiny" else DEFAULT_SIZES
        for split, default in sizes.items():
            key = f"num_{split}"
            if getattr(self, key) is None:
                setattr(self, key, default)
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}


class NCADatasetBuilder(datasets.GeneratorBasedBuilder):
    """Neural-cellular-automata token sequences with labels (see dataset_builder/README)."""

    BUILDER_CONFIG_CLASS = NCABuilderConfig
    BUILDER_CONFIGS = [NCABuilderConfig(name=name, description=p.get("description", "")) for name, p in PRESETS.items()]
    DEFAULT_CONFIG_NAME = "paper"
    VERSION = datasets.Version("1.0.0")

    def __init__(self, *args: Any, config_name: str | None = None, **kwargs: Any) -> None:
        builder_keys = {f.name for f in dataclasses.fields(NCABuilderConfig)} - {"data", "name"}
        init_keys = {"cache_dir", "dataset_name", "hash", "base_path", "info", "features", "token", "repo_id",
                     "data_files", "data_dir", "storage_options", "writer_batch_size", "config_id"}
        data_fields = ({f.name for f in dataclasses.fields(NCADataConfig)} | set(ALIASES)) - {"name"}
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in data_fields}
        unknown = set(kwargs) - builder_keys - init_keys
        if unknown:
            raise ValueError(f"unknown builder argument(s) {sorted(unknown)}; data config fields are "
                             f"{sorted(data_fields)}, split sizes num_train / num_validation / num_test")
        name = config_name or self.DEFAULT_CONFIG_NAME
        data = get_config(name, **overrides)
        sizes = {k: kwargs.get(k) for k in ("num_train", "num_validation", "num_test")}
        if "config_id" not in kwargs:
            size_text = "-".join(str(v) for v in sizes.values())
            kwargs["config_id"] = f"{name}-{data.fingerprint()}-{size_text}"
        kwargs.setdefault("dataset_name", "nca")
        super().__init__(*args, config_name=name, data=data, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        data = self.config.data
        return datasets.DatasetInfo(description=data.description, features=features(),
                                    homepage="https://arxiv.org/abs/2603.10055")

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        out = []
        for split, n in self.config.split_sizes().items():
            if n <= 0:
                continue
            sizes = shard_sizes(n, self.config.data.shard_size)
            out.append(datasets.SplitGenerator(name=split, gen_kwargs={
                "split": split, "shards": list(range(len(sizes))), "sizes": sizes}))
        return out

    def _generate_examples(self, split: str, shards: list[int], sizes: list[int]):
        device = self.config.device
        if device == "auto":  # a forked DataLoader worker cannot use CUDA once the parent has: stay on the CPU
            import torch.utils.data

            device = "cpu" if torch.utils.data.get_worker_info() is not None else "auto"
        for local, (shard, size) in enumerate(zip(shards, sizes)):
            gen = ShardGenerator(self.config.data, split, shard, size, device=device)
            for i, row in enumerate(gen.rows()):
                yield Key(local, i), public_row(row)
