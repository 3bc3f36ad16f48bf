"""What push() leaves behind: the commit URL, whose sha pins ``revision=`` to exactly that push, and the local
card (written after the commit, except into a strategy folder)."""

from __future__ import annotations

import pytest

from hfplug.hub import HubError, commit_sha, push


def test_the_sha_in_the_pushed_url_is_the_commit_that_holds_the_push(local_hub, tmp_path):
    from huggingface_hub import HfApi

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "first"}\n')
    repo = local_hub.repo_id("pinned-data")
    first = commit_sha(push(folder, repo))
    (folder / "train.jsonl").write_text('{"text": "second"}\n')
    second = commit_sha(push(folder, repo))

    commits = [c.commit_id for c in HfApi().list_repo_commits(repo, repo_type="dataset")]
    assert commits[:2] == [second, first]
    (folder / "train.jsonl").write_text('{"text": "proposed"}\n')
    pull_request = push(folder, repo, create_pr=True)
    with pytest.raises(HubError, match="not a commit URL"):
        commit_sha(pull_request)


def test_a_strategy_folder_push_leaves_the_folder_unchanged_unless_asked(local_hub, tmp_path):
    from huggingface_hub import HfApi

    folder = tmp_path / "strategy"
    (folder / "custom_generate").mkdir(parents=True)
    (folder / "custom_generate" / "generate.py").write_text("def generate(model, **kwargs):\n    return None\n")
    repo = local_hub.repo_id("strategy-card")
    push(folder, repo)
    assert "README.md" in HfApi().list_repo_files(repo) and not (folder / "README.md").exists()
    push(folder, repo, update_local_card=True)
    assert (folder / "README.md").read_text().startswith("---\n")
