"""Shared settings for the whole suite: tests never reach the network and use one CPU thread
each (the CI machine has two cores).

Hypothesis profiles: ``ci`` (the default) keeps property tests inside CI's time; ``mutate`` (set by
``make mutate`` through ``HYPOTHESIS_PROFILE``) tries more examples, so a mutant has more chances to show.
Both are derandomized (a verdict is reproducible) and have no deadline (the machine is shared)."""

import os

from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None)
settings.register_profile("mutate", max_examples=200, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
