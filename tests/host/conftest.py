import pytest


@pytest.fixture
def tiny_model_dir(tmp_path, tiny_model, tiny_tokenizer):
    """The tiny model and tokenizer saved to a folder, as a model path in a config."""
    folder = tmp_path / "tiny-model"
    tiny_model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder
