"""A model path that is not a model is one clean message at once: a missing folder, a folder without a model,
a Hub id that is not cached while offline, unknown to the Hub, or on a Hub that cannot be reached."""

import socket

import pytest
from click.testing import CliRunner

from hfplug.cli import build_cli
from hfplug.errors import ConfigError
from hfplug.models import locate_model
from hfplug.testing import write_jsonl


def _train(tmp_path, model: str):
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": "a b c"}] * 2)
    config = tmp_path / "run.yaml"
    config.write_text(f"trainer: sft\nmodel_name_or_path: {model}\ndataset: {data}\noutput_dir: {tmp_path / 'out'}\n")
    return CliRunner().invoke(build_cli(), ["train", "--config", str(config)])


def _generate(model: str):
    return CliRunner().invoke(build_cli(), ["generate", "--model", model, "--prompt", "hi"])


@pytest.fixture
def offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("outputs/quickstart-typo", "is not a local folder"),
        ("./missing-folder", "is not a folder that exists"),
        ("someone/not-a-real-model", "not in the local cache while HF_HUB_OFFLINE=1"),
    ],
)
def test_a_model_that_is_not_there_is_one_clean_message(
    tmp_path, loading_is_forbidden, offline, monkeypatch, model, message
):
    monkeypatch.chdir(tmp_path)  # no outputs/ folder here
    for result in (_train(tmp_path, model), _generate(model)):
        assert result.exit_code == 1
        assert f"ConfigError: model_name_or_path: {model!r}" in result.output or "ConfigError: model" in result.output
        assert message in result.output and "Traceback" not in result.output
    assert loading_is_forbidden == []


def test_a_folder_without_a_model_and_a_file_are_named(tmp_path, loading_is_forbidden, offline, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()  # then outputs/run-typo is a local path with a typo, not a Hub id
    with pytest.raises(ConfigError, match="'outputs/run-typo' is not a folder that exists"):
        locate_model("outputs/run-typo")
    (tmp_path / "empty").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="holds no model"):
        locate_model(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="is a file"):
        locate_model(str(tmp_path / "weights.bin"))
    assert loading_is_forbidden == []


def test_an_unknown_hub_id_is_one_request_and_one_message(local_hub, loading_is_forbidden, tmp_path):
    missing = local_hub.repo_id("missing")  # the Hub double lives for the session: a name no other test asks for
    seen = len(local_hub.server.requests)
    with pytest.raises(ConfigError, match=rf"there is no model '{missing}' on the Hub"):
        locate_model(missing)
    # huggingface_hub may also fetch its agent registry (/api/agent-harnesses) on its first request in a process
    asked = [request for request in local_hub.server.requests[seen:] if missing in request[1]]
    assert asked == [("GET", f"/api/models/{missing}", 404)]  # one request, no retries with backoff
    from huggingface_hub import HfApi

    repo = local_hub.repo_id("exists")
    HfApi().create_repo(repo)
    assert locate_model(repo) == repo  # from_pretrained takes it from here
    assert loading_is_forbidden == []


def test_an_unreachable_hub_is_named_with_the_cause(monkeypatch, loading_is_forbidden):
    from huggingface_hub import constants

    with socket.socket() as probe:  # a port nothing listens on: connections are refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match=rf"cannot reach the Hub \(http://127.0.0.1:{port}\) to find 'someone/model'"):
        locate_model("someone/model")
    assert loading_is_forbidden == []
