"""The trainer: a small subclass of trl's SFTTrainer."""

from trl import SFTTrainer


class FrozenEmbeddingsSFTTrainer(SFTTrainer):
    """SFT with the input embeddings frozen when ``args.freeze_embeddings`` is set."""

    _tag_names = ["trl", "sft", "hfplug", "hfplug-example"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.freeze_embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)
