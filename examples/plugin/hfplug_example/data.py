"""A data transform: ``transform(dataset, config, context) -> Dataset``."""

from dataclasses import dataclass, field

from hfplug.data import DataContext, check_columns
from hfplug.errors import ConfigError, DatasetError


@dataclass
class MaxTokensConfig:
    """The transform's parameters, written in the run config as ``data: [{name: max_tokens, max_tokens: 256}]``.

    Every field needs a default; a wrong type or an unknown key is reported by hfplug before training.
    """

    max_tokens: int = field(default=512, metadata={"help": "Rows with more tokens than this are dropped."})
    text_field: str = field(default="text", metadata={"help": "Column to measure when the rows are plain text."})

    def __post_init__(self):
        if self.max_tokens <= 0:
            raise ConfigError(f"max_tokens: must be positive, got {self.max_tokens}.")


def drop_long_rows(dataset, config: MaxTokensConfig, context: DataContext):
    """Keep the rows whose text has at most ``config.max_tokens`` tokens of the run's tokenizer."""
    columns = check_columns(dataset, [["messages"], ["prompt", "completion"], [config.text_field]], what="max_tokens")
    tokenizer = context.load_tokenizer()  # the run's tokenizer, loaded once and shared by every transform

    def length(row):
        if columns == ["messages"]:
            return len(tokenizer.apply_chat_template(row["messages"], tokenize=True))
        text = row[config.text_field] if columns == [config.text_field] else row["prompt"] + row["completion"]
        return len(tokenizer(text)["input_ids"])

    kept = dataset.filter(lambda row: length(row) <= config.max_tokens)
    if len(kept) == 0:
        # DatasetError (like ConfigError) is printed as one clean message; a ValueError would be a crash.
        raise DatasetError(f"max_tokens={config.max_tokens} dropped all {len(dataset)} rows; raise it.")
    return kept
