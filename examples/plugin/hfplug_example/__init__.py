"""An example hfplug plugin: ``trainer: frozen_embeddings_sft`` and ``reward_funcs: [brevity]``."""
