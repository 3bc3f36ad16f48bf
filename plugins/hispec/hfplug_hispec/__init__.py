"""HiSpec hierarchical speculative decoding and the early-exit trainer that makes a model a self-drafter.

The decoding strategies live in ``strategies/<name>/custom_generate`` folders (loaded by
transformers as remote code); the Python package holds the trainer and the layer-choice helper.
"""
