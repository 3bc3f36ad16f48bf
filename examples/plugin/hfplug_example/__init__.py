"""An example hfplug plugin: ``trainer: top_loss_sft``, ``data: [{name: max_tokens}]``,
``reward_funcs: [brevity, mentions_keyword]`` and the decoding strategy ``banned_greedy``."""
