"""Offline stand-ins for the Hub ids trl's GRPO tests load, written under ``<workdir>/hub/<id>``.

* ``trl-internal-testing/zen``: rebuilt by trl's own ``scripts/generate_zen_dataset.py`` (from the
  checkout), its ``push_to_hub`` calls redirected to ``save_to_disk``.
* tiny random causal LMs and sequence classifiers under the ids the tests name (Qwen2, Qwen3,
  Llama), sharing one small byte-level BPE tokenizer trained here on the zen text, with a ChatML
  template (Qwen's format). Tests that need other architectures fail for both trainers alike.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ORG = "trl-internal-testing"
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def build_zen(trl_checkout: Path, hub: Path) -> Path:
    """trl's zen dataset, every config saved to ``hub/trl-internal-testing/zen/<config>``."""
    import datasets

    zen = hub / ORG / "zen"

    def save(self, repo_id: str, config_name: str = "default", **_: object) -> None:
        self.save_to_disk(str(zen / config_name))

    patched = (datasets.Dataset.push_to_hub, datasets.DatasetDict.push_to_hub)
    datasets.Dataset.push_to_hub = datasets.DatasetDict.push_to_hub = save
    argv = sys.argv
    try:
        script = trl_checkout / "scripts" / "generate_zen_dataset.py"
        sys.argv = [str(script), "--push_to_hub", "true"]
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
        datasets.Dataset.push_to_hub, datasets.DatasetDict.push_to_hub = patched
    return zen


def train_tokenizer(zen: Path):
    import datasets
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [
        str(row)
        for config in sorted(zen.iterdir())
        for split in datasets.load_from_disk(str(config)).values()
        for row in split
    ]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHATML
    )


def build_models(hub: Path, tokenizer) -> list[str]:
    """Tiny random models under the ids the tests load; returns the ids written."""
    import torch
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        LlamaForSequenceClassification,
        Qwen2Config,
        Qwen2ForCausalLM,
        Qwen2ForSequenceClassification,
        Qwen3Config,
        Qwen3ForCausalLM,
        Qwen3ForSequenceClassification,
    )

    small = {
        "vocab_size": len(tokenizer),
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
    }
    score = {"num_labels": 1}
    qwen3 = {"head_dim": 4}
    specs = {
        "tiny-Qwen2ForCausalLM-2.5": (Qwen2Config, Qwen2ForCausalLM, {}),
        "tiny-Qwen2ForSequenceClassification-2.5": (Qwen2Config, Qwen2ForSequenceClassification, score),
        "tiny-Qwen3ForCausalLM": (Qwen3Config, Qwen3ForCausalLM, qwen3),
        "tiny-Qwen3ForSequenceClassification": (Qwen3Config, Qwen3ForSequenceClassification, {**score, **qwen3}),
        "tiny-LlamaForCausalLM-3.2": (LlamaConfig, LlamaForCausalLM, {}),
        "tiny-LlamaForSequenceClassification-3.2": (LlamaConfig, LlamaForSequenceClassification, score),
    }
    torch.manual_seed(0)
    for name, (config_class, model_class, extra) in specs.items():
        folder = hub / ORG / name
        model_class(config_class(**small, **extra)).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return [f"{ORG}/{name}" for name in specs]


def build_standins(trl_checkout: Path, hub: Path) -> None:
    zen = build_zen(trl_checkout, hub)
    build_models(hub, train_tokenizer(zen))
