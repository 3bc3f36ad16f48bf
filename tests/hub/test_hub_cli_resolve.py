"""``hfplug push`` on the command line, and ``hub:REPO[@rev]`` model paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hfplug.hub import HubError, push, resolve_model_path
from hfplug.hub_cli import push as push_command


def _folder(root: Path, marker: str) -> Path:
    folder = root / marker
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "marker": marker}))
    return folder


def test_cli_push_prints_the_commit_url(local_hub, tmp_path):
    repo = local_hub.repo_id("cli")
    result = CliRunner().invoke(push_command, [str(_folder(tmp_path, "one")), repo, "--commit-message", "from cli"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"{local_hub.url}/{repo}/commit/")
    from huggingface_hub import HfApi

    assert HfApi().list_repo_commits(repo)[0].title == "from cli"


def test_cli_private_and_revision_options(local_hub, tmp_path):
    from huggingface_hub import HfApi

    repo = local_hub.repo_id("cli-private")
    result = CliRunner().invoke(push_command, [str(_folder(tmp_path, "one")), repo, "--private", "--revision", "exp"])
    assert result.exit_code == 0, result.output
    api = HfApi()
    assert api.model_info(repo).private is True
    assert "config.json" in api.list_repo_files(repo, revision="exp")
    assert "config.json" not in api.list_repo_files(repo)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["a/b/c"], "must have the form 'namespace/name'"),
        (["me/bad..name"], "invalid repo id"),
    ],
)
def test_cli_rejects_bad_input_before_any_request(local_hub, tmp_path, arguments, message):
    seen = len(local_hub.server.requests)
    result = CliRunner().invoke(push_command, [str(_folder(tmp_path, "x")), *arguments])
    assert result.exit_code == 1
    assert message in result.output
    assert len(local_hub.server.requests) == seen


def test_cli_missing_token_is_an_error(local_hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result = CliRunner().invoke(push_command, [str(_folder(tmp_path, "x")), local_hub.repo_id("x")])
    assert result.exit_code == 1 and "no Hugging Face token" in result.output


def test_resolve_model_path_follows_revisions(local_hub, tmp_path):
    from huggingface_hub import HfApi

    repo = local_hub.repo_id("versions")
    push(_folder(tmp_path, "v1"), repo)
    first = HfApi().model_info(repo).sha
    push(_folder(tmp_path, "v2"), repo)

    def marker(value: str) -> str:
        return json.loads((Path(resolve_model_path(value)) / "config.json").read_text())["marker"]

    assert marker(f"hub:{repo}") == "v2"
    assert marker(f"hub:{repo}@{first}") == "v1"
    assert resolve_model_path(repo) == repo  # plain ids are left to from_pretrained
    assert resolve_model_path(str(tmp_path / "v1")) == str(tmp_path / "v1")


def test_resolve_model_path_errors_name_the_repo(local_hub):
    with pytest.raises(HubError, match="could not download model repo 'nobody/nothing'"):
        resolve_model_path("hub:nobody/nothing")
    with pytest.raises(HubError, match="must have the form"):
        resolve_model_path("hub:a/b/c")
    repo = local_hub.repo_id("exists")
    from huggingface_hub import HfApi

    HfApi().create_repo(repo)
    with pytest.raises(HubError, match="at revision 'no-such-branch'"):
        resolve_model_path(f"hub:{repo}@no-such-branch")
