"""Test environment: offline, every cache in a temporary folder."""

import os
import tempfile

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
