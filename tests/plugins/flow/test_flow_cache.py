"""The loss cache on its own: each fingerprint and the key equal a from-scratch computation of their documented
recipe (so a key written today is found tomorrow; a change is a visible decision that bumps FORMAT_VERSION),
they see what they must and ignore what they may, and entries are read back only when whole and for this key."""

from __future__ import annotations

import datetime
import hashlib
import json
from types import SimpleNamespace

import pytest
from datasets import Dataset
from hfplug_flow import cache
from hfplug_flow.weighting import BaseLosses

from hfplug.testing import make_tiny_tokenizer

LOSSES = BaseLosses(sample_losses=[1.5, 2.0, 0.25], token_losses=[[0.0, 1.5], [0.0, 3.0, 1.0], [0.0, 0.25]])


def sha256(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


# ---- the model folder ------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A model folder with a small file, a 'large' one and a nested one; large means over 2 x 4 bytes here."""
    monkeypatch.setattr(cache, "EDGE_BYTES", 4)
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_bytes(b"12345678")  # exactly 2 x EDGE_BYTES: read in full
    (root / "model.bin").write_bytes(b"HEADmidTAIL")  # 11 bytes, over 2 x EDGE_BYTES: head and tail only
    (root / "sub" / "vocab.txt").write_bytes(b"abc")
    return root


def test_model_fingerprint_is_paths_sizes_and_contents_or_head_and_tail(folder):
    expected = sha256(
        b"config.json:8\n",
        b"12345678",
        b"model.bin:11\n",
        b"HEAD",
        b"TAIL",
        b"sub/vocab.txt:3\n",
        b"abc",
    )
    assert cache.model_folder_fingerprint(folder) == expected


def test_model_fingerprint_sees_small_files_heads_tails_and_names_but_not_middles_or_caches(folder):
    before = cache.model_folder_fingerprint(folder)
    (folder / ".cache" / "huggingface").mkdir(parents=True)
    (folder / ".cache" / "huggingface" / "download.lock").write_bytes(b"x")
    assert cache.model_folder_fingerprint(folder) == before  # hub download bookkeeping is not the model
    (folder / "model.bin").write_bytes(b"HEAD___TAIL")
    assert cache.model_folder_fingerprint(folder) == before  # a large file's middle is not read
    changes = [
        ("config.json", b"12345679"),
        ("model.bin", b"hEADmidTAIL"),
        ("model.bin", b"HEADmidTAIl"),
        ("sub/vocab.txt", b"abd"),
    ]
    for name, content in changes:
        original = (folder / name).read_bytes()
        (folder / name).write_bytes(content)
        assert cache.model_folder_fingerprint(folder) != before, name
        (folder / name).write_bytes(original)
    (folder / "sub" / "vocab.txt").rename(folder / "sub" / "merges.txt")
    assert cache.model_folder_fingerprint(folder) != before


def test_an_unresolved_hub_id_is_fingerprinted_by_its_name(tmp_path):
    name = "org/model@0123abc"
    assert cache.model_folder_fingerprint(name) == sha256(name.encode())
    assert cache.model_folder_fingerprint(tmp_path / "missing") == sha256(str(tmp_path / "missing").encode())


# ---- the tokenizer ---------------------------------------------------------------------------------------------


def stub_tokenizer(vocab: dict, special: dict, **attributes) -> SimpleNamespace:
    """A tokenizer without a fast backend (a slow tokenizer): fingerprinted by its vocabulary."""
    return SimpleNamespace(get_vocab=lambda: dict(vocab), special_tokens_map=special, **attributes)


def test_tokenizer_fingerprint_recipe_without_a_backend():
    tokenizer = stub_tokenizer({"b": 1, "a": 0}, {"eos_token": "</s>", "bos_token": "<s>"}, chat_template="{{x}}")
    parts = ['{"a": 0, "b": 1}', "{{x}}", '{"bos_token": "<s>", "eos_token": "</s>"}']
    assert cache.tokenizer_fingerprint(tokenizer) == sha256("\0".join(parts).encode())
    # no chat_template attribute at all is fingerprinted as None
    bare = stub_tokenizer({"a": 0}, {})
    assert cache.tokenizer_fingerprint(bare) == sha256("\0".join(['{"a": 0}', "None", "{}"]).encode())


def test_tokenizer_fingerprint_ignores_dict_order_and_sees_vocab_template_and_special_tokens():
    base = stub_tokenizer({"a": 0, "b": 1}, {"eos_token": "</s>", "pad_token": "<p>"}, chat_template="T")
    same = stub_tokenizer({"b": 1, "a": 0}, {"pad_token": "<p>", "eos_token": "</s>"}, chat_template="T")
    assert cache.tokenizer_fingerprint(base) == cache.tokenizer_fingerprint(same)
    others = [
        stub_tokenizer({"a": 0, "b": 2}, {"eos_token": "</s>", "pad_token": "<p>"}, chat_template="T"),
        stub_tokenizer({"a": 0, "b": 1}, {"eos_token": "</s>", "pad_token": "<q>"}, chat_template="T"),
        stub_tokenizer({"a": 0, "b": 1}, {"eos_token": "</s>", "pad_token": "<p>"}, chat_template="U"),
    ]
    assert len({cache.tokenizer_fingerprint(t) for t in [base, *others]}) == 4


def test_tokenizer_fingerprint_accepts_token_objects_in_the_special_tokens_map():
    class Token:  # some tokenizers give AddedToken objects here, which JSON cannot write
        def __str__(self):
            return "<eos>"

    tokenizer = stub_tokenizer({"a": 0}, {"eos_token": Token()}, chat_template=None)
    assert cache.tokenizer_fingerprint(tokenizer) == sha256(
        "\0".join(['{"a": 0}', "None", '{"eos_token": "<eos>"}']).encode()
    )


def test_fast_tokenizer_fingerprint_is_its_backend_so_merges_and_normalisation_count():
    tokenizer = make_tiny_tokenizer()
    parts = [
        tokenizer.backend_tokenizer.to_str(),
        str(tokenizer.chat_template),
        json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str),
    ]
    assert cache.tokenizer_fingerprint(tokenizer) == sha256("\0".join(parts).encode())
    lowercasing = make_tiny_tokenizer()
    from tokenizers import normalizers

    lowercasing.backend_tokenizer.normalizer = normalizers.Lowercase()  # same vocabulary, other ids for "A"
    assert lowercasing.get_vocab() == tokenizer.get_vocab()
    assert cache.tokenizer_fingerprint(lowercasing) != cache.tokenizer_fingerprint(tokenizer)


# ---- the data --------------------------------------------------------------------------------------------------


def test_data_fingerprint_recipe_hashes_batches_of_1000_rows_then_the_length():
    texts = [f"row {i}" for i in range(1001)]
    dataset = Dataset.from_dict({"text": texts, "ignored": list(range(1001))})
    expected = sha256(
        json.dumps({"text": texts[:1000]}, sort_keys=True).encode(),
        json.dumps({"text": texts[1000:]}, sort_keys=True).encode(),
        b"1001",
    )
    assert cache.data_fingerprint(dataset, ["text"]) == expected


def test_data_fingerprint_sees_content_only_of_the_columns_read_in_any_field_order():
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "5"}]
    reordered = [{"content": m["content"], "role": m["role"]} for m in conversation]
    one = Dataset.from_dict({"messages": [conversation], "id": [1]})
    same = Dataset.from_dict({"messages": [reordered], "id": [2]})  # struct fields in another order
    assert cache.data_fingerprint(one, ["messages"]) == cache.data_fingerprint(same, ["messages"])
    changed = Dataset.from_dict({"messages": [[conversation[0], {"role": "assistant", "content": "6"}]], "id": [1]})
    assert cache.data_fingerprint(changed, ["messages"]) != cache.data_fingerprint(one, ["messages"])


def test_data_fingerprint_accepts_values_json_cannot_write():
    stamped = [[{"role": "user", "content": "hi", "sent": datetime.datetime(2026, 1, 2)}]]
    dataset = Dataset.from_dict({"messages": stamped})
    expected = sha256(
        json.dumps({"messages": stamped}, sort_keys=True, default=str).encode(),
        b"1",
    )
    assert cache.data_fingerprint(dataset, ["messages"]) == expected


# ---- the key ---------------------------------------------------------------------------------------------------


def test_cache_key_is_the_sorted_json_of_the_parts_and_the_format_version():
    parts = {"model": "m", "tokenizer": "t", "data": "d", "max_length": 1024, "text_field": "text"}
    expected = sha256(json.dumps({"v": cache.FORMAT_VERSION, **parts}, sort_keys=True).encode())
    assert cache.cache_key(**parts) == expected
    assert cache.cache_key(text_field="text", max_length=1024, data="d", tokenizer="t", model="m") == expected
    assert cache.cache_key(**{**parts, "max_length": 512}) != expected


# ---- entries ---------------------------------------------------------------------------------------------------


def test_an_entry_round_trips_with_its_token_losses(tmp_path):
    folder = tmp_path / "not" / "yet" / "there"
    path = cache.save_losses(folder, "k", LOSSES)
    assert path == folder / "k.json"
    assert cache.load_losses(folder, "k", 3) == LOSSES
    cache.save_losses(folder, "k", LOSSES)  # overwriting an entry is fine
    assert sorted(p.name for p in folder.iterdir()) == ["k.json"]  # no temporary file left


def test_the_entry_is_written_to_a_hidden_temporary_file_beside_it_then_renamed(tmp_path, monkeypatch):
    seen = []
    dump = json.dump

    def spying_dump(entry, handle):
        seen.extend(p.name for p in tmp_path.iterdir())
        dump(entry, handle)

    monkeypatch.setattr(json, "dump", spying_dump)
    cache.save_losses(tmp_path, "abc", LOSSES)
    (temporary,) = seen
    assert temporary.startswith(".abc.") and temporary.endswith(".tmp")  # never a name an entry is read from


def test_a_crash_while_writing_keeps_the_old_entry_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    cache.save_losses(tmp_path, "k", LOSSES)
    old = (tmp_path / "k.json").read_text()

    def failing_dump(entry, handle):
        handle.write('{"key": "k", "num_r')
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", failing_dump)
    with pytest.raises(OSError, match="disk full"):
        cache.save_losses(tmp_path, "k", BaseLosses([9.0, 9.0, 9.0], [[0.0], [0.0], [0.0]]))
    assert (tmp_path / "k.json").read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]


def entry(**changes) -> dict:
    good = {"key": "k", "num_rows": 3, "sample_losses": [1.5, 2.0, 0.25], "token_losses": LOSSES.token_losses}
    return {**good, **changes}


@pytest.mark.parametrize(
    "content",
    [
        [1, 2, 3],  # not an object
        entry(key="other"),
        entry(num_rows=2),  # says another size: another dataset
        entry(sample_losses=None),
        entry(sample_losses="123"),  # the right length, not a list
        entry(sample_losses=[1.0, 2.0]),
        entry(token_losses=None),
        entry(token_losses={"0": [], "1": [], "2": []}),
        entry(token_losses=[[0.0], [0.0]]),
    ],
)
def test_entries_that_are_not_whole_or_not_this_keys_are_ignored(tmp_path, content):
    (tmp_path / "k.json").write_text(json.dumps(content))
    assert cache.load_losses(tmp_path, "k", 3) is None


def test_missing_or_unparsable_entries_are_ignored_and_integers_read_as_floats(tmp_path):
    assert cache.load_losses(tmp_path, "k", 3) is None
    (tmp_path / "k.json").write_text('{"key": "k", "num_r')
    assert cache.load_losses(tmp_path, "k", 3) is None
    (tmp_path / "k.json").write_text(json.dumps(entry(sample_losses=[1, 2, 3])))
    loaded = cache.load_losses(tmp_path, "k", 3)
    assert loaded.sample_losses == [1.0, 2.0, 3.0] and all(type(x) is float for x in loaded.sample_losses)
