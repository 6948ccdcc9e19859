"""Test environment: offline, every cache in a temporary folder."""

import os
import tempfile

import pytest

_TMP = tempfile.mkdtemp(prefix="nca-tests-")
for key, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HOME": os.path.join(_TMP, "hf"),
    "MPLCONFIGDIR": os.path.join(_TMP, "mpl"),
    "GRADIO_TEMP_DIR": os.path.join(_TMP, "gradio"),
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_DISABLED": "true",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread for the test (restored after): the data pipeline's own setting."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
