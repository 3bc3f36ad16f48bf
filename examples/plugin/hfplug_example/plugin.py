"""Hook implementations: names and lazy references only, no torch import here."""

import hfplug


@hfplug.hookimpl
def hfplug_register(registry):
    registry.trainer(
        "top_loss_sft",
        "hfplug_example.trainer:TopLossSFTTrainer",
        config="hfplug_example.config:TopLossSFTConfig",
        summary="SFT that trains only on the hardest keep_ratio of the response tokens of each batch.",
        columns=[["messages"], ["prompt", "completion"], ["text"]],  # checked before training starts
    )
    registry.data(
        "max_tokens",
        "hfplug_example.data:drop_long_rows",
        config="hfplug_example.data:MaxTokensConfig",
        summary="Drop rows longer than max_tokens tokens of the run's tokenizer.",
    )
    registry.generation(
        "banned_greedy",
        "hfplug_example:strategies/banned_greedy",  # a folder inside this package holding custom_generate/
        summary="Greedy decoding that never emits the token ids in banned_token_ids.",
    )
    registry.reward("brevity", "hfplug_example.rewards:brevity", summary="1 for an empty answer, 0 at max_chars.")
    registry.reward(
        "mentions_keyword",
        "hfplug_example.rewards:mentions_keyword",
        summary="1 when the completion contains the row's `keyword` column; rows without one are skipped.",
    )
