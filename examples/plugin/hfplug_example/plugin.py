"""Hook implementations: names and lazy references only, no torch import here."""

import hfplug


@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer(
        "frozen_embeddings_sft",
        "hfplug_example.trainer:FrozenEmbeddingsSFTTrainer",
        config="hfplug_example.config:FrozenEmbeddingsSFTConfig",
        summary="SFT that keeps the input embeddings frozen.",
        columns=[["messages"], ["prompt", "completion"], ["text"]],
    )
    registry.reward("brevity", "hfplug_example.rewards:brevity", summary="1 for an empty answer, 0 at max_chars.")
