import pytest

from hfplug.errors import DatasetError
from hfplug.sft_tokens import IGNORE_INDEX, sft_row_format, tokenize_sft_row

CHAT = [
    {"role": "user", "content": "2+3?"},
    {"role": "assistant", "content": "5"},
]


def test_prompt_completion_labels_only_the_completion(tiny_tokenizer):
    ids, labels = tokenize_sft_row({"prompt": "Q: 2+3? A:", "completion": " 5"}, tiny_tokenizer)
    masked = labels.count(IGNORE_INDEX)
    assert ids[:masked] == tiny_tokenizer(text="Q: 2+3? A:")["input_ids"]
    assert tiny_tokenizer.decode(ids[masked:]) == " 5" + tiny_tokenizer.eos_token
    assert labels[masked:] == ids[masked:]


def test_messages_all_tokens_or_last_assistant(tiny_tokenizer):
    ids, labels = tokenize_sft_row({"messages": CHAT}, tiny_tokenizer)
    assert labels == ids
    ids, labels = tokenize_sft_row({"messages": CHAT}, tiny_tokenizer, messages_loss="last_assistant")
    assert tiny_tokenizer.decode([t for t in labels if t != IGNORE_INDEX]) == "5<|im_end|>\n"


def test_text_gets_eos_and_truncation_keeps_the_start(tiny_tokenizer):
    ids, labels = tokenize_sft_row({"text": "the quick brown fox"}, tiny_tokenizer)
    assert ids[-1] == tiny_tokenizer.eos_token_id and labels == ids
    short, _ = tokenize_sft_row({"text": "the quick brown fox"}, tiny_tokenizer, max_length=2)
    assert short == ids[:2]


def test_bad_rows_are_named(tiny_tokenizer):
    with pytest.raises(DatasetError, match="needs prompt/completion, messages or 'text'"):
        sft_row_format({"question": "q"})
    tiny_tokenizer.chat_template = None
    with pytest.raises(DatasetError, match="my transform: the data is conversational"):
        tokenize_sft_row({"messages": CHAT}, tiny_tokenizer, what="my transform")
    with pytest.raises(ValueError, match="messages_loss"):
        tokenize_sft_row({"text": "x"}, tiny_tokenizer, messages_loss="some")
