"""ADJUST approximate joint sampling for masked diffusion LMs (arXiv:2509.22738).

The decoding strategies (``joint_sampler``, ``exact``, ``marginal``) live in
``strategies/<name>/custom_generate`` folders that need only torch and transformers; the package adds
the sampler trainer, a tiny masked diffusion LM trained from scratch, and helpers to call the strategies
on models without transformers' ``generate`` (Dream, LLaDA, ``*ForMaskedLM``).
"""
