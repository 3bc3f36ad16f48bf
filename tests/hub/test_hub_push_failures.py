"""A failed push changes nothing, says what failed, and a retry lands the whole folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hfplug.hub import HubError, push
from hfplug.testing.hub_fixture import point_libraries_at
from hfplug.testing.hub_server import LocalHub, spawn_hub_process


def _mixin_folder(root: Path, name: str = "model", **files: bytes) -> Path:
    """A small PyTorchModelHubMixin-style folder: config.json + a safetensors (LFS) file + text files."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"width": 8}')
    (folder / "model.safetensors").write_bytes(hashlib.sha256(name.encode()).digest() * 100)
    for file_name, content in files.items():
        (folder / file_name).write_bytes(content)
    return folder


def _snapshot(folder: Path) -> dict[str, str]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _repo_files(repo: str) -> set[str]:
    from huggingface_hub import HfApi

    return set(HfApi().list_repo_files(repo))


def test_missing_token_fails_before_any_request(local_hub, tmp_path, monkeypatch):
    folder = _mixin_folder(tmp_path)
    monkeypatch.delenv("HF_TOKEN")
    seen = len(local_hub.server.requests)
    with pytest.raises(HubError, match="no Hugging Face token"):
        push(folder, local_hub.repo_id("no-token"))
    assert len(local_hub.server.requests) == seen


@pytest.mark.parametrize("bad", ["a/b/c", "me/bad--name", "me/", "me/with space", "", "datasets/me/x"])
def test_malformed_repo_id_fails_before_any_request(local_hub, tmp_path, bad):
    folder = _mixin_folder(tmp_path)
    seen = len(local_hub.server.requests)
    with pytest.raises(HubError, match="repo id"):
        push(folder, bad)
    assert len(local_hub.server.requests) == seen


def test_bare_repo_name_goes_to_the_token_owner_namespace(local_hub, tmp_path):
    from hfplug.testing.hub_server import USER_NAME

    name = f"bare-{local_hub.namespace}"
    url = push(_mixin_folder(tmp_path), name)
    assert f"/{USER_NAME}/{name}/commit/" in url
    assert "model.safetensors" in _repo_files(f"{USER_NAME}/{name}")


def test_unknown_folder_layout_is_a_clear_error(local_hub, tmp_path):
    (tmp_path / "notes.md").write_text("nothing to push")
    with pytest.raises(HubError, match="cannot tell what"):
        push(tmp_path, local_hub.repo_id("what"))
    with pytest.raises(HubError, match="is not a folder"):
        push(tmp_path / "missing", local_hub.repo_id("what"))


def test_server_error_on_commit_changes_nothing_and_retry_lands_everything(local_hub, tmp_path):
    folder = _mixin_folder(tmp_path, notes=b"hello\n")
    before = _snapshot(folder)
    repo = local_hub.repo_id("server-error")
    local_hub.server.fail("commit", status=500)

    with pytest.raises(HubError) as failure:
        push(folder, repo)

    message = str(failure.value)
    assert repo in message and "uploading and committing" in message and "500" in message
    assert _snapshot(folder) == before  # the folder, README included, is untouched
    assert _repo_files(repo) == {".gitattributes"}  # the repo was created but has no partial commit

    push(folder, repo)
    assert _repo_files(repo) == {".gitattributes", "README.md", "config.json", "model.safetensors", "notes"}


def test_dropped_lfs_upload_is_retried_by_huggingface_hub(local_hub, tmp_path):
    folder = _mixin_folder(tmp_path)
    repo = local_hub.repo_id("dropped-lfs")
    local_hub.server.fail("lfs_upload", status=None)  # connection closed without an answer, once

    push(folder, repo)

    uploads = [status for method, path, status in local_hub.server.requests if method == "PUT" and repo in path]
    assert uploads == [0, 200]  # dropped once (no answer), then retried by huggingface_hub's backoff
    assert "model.safetensors" in _repo_files(repo)


def test_connection_refused_reports_the_step_and_retry_succeeds(local_hub, tmp_path, monkeypatch):
    folder = _mixin_folder(tmp_path)
    repo = local_hub.repo_id("refused")
    dead = LocalHub()
    dead_url = dead.url
    dead.close()  # nothing listens on that port any more
    point_libraries_at(monkeypatch, dead_url, local_hub.token, local_hub.cache_dir)

    with pytest.raises(HubError, match=r"failed while creating the repo: ConnectError"):
        push(folder, repo)

    point_libraries_at(monkeypatch, local_hub.url, local_hub.token, local_hub.cache_dir)
    push(folder, repo)
    assert "model.safetensors" in _repo_files(repo)


def test_pushing_again_keeps_earlier_files_unless_asked(local_hub, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download

    repo = local_hub.repo_id("two-pushes")
    push(_mixin_folder(tmp_path, "first", extra_a=b"a"), repo)
    second = _mixin_folder(tmp_path, "second", extra_b=b"b")
    push(second, repo, commit_message="second push")

    common = {".gitattributes", "README.md", "config.json", "model.safetensors"}
    assert _repo_files(repo) == common | {"extra_a", "extra_b"}
    commits = [c.title for c in HfApi().list_repo_commits(repo)]
    assert commits[:2] == ["second push", "Upload mixin with hfplug"]
    weights = Path(hf_hub_download(repo, "model.safetensors")).read_bytes()
    assert weights == (second / "model.safetensors").read_bytes()

    push(second, repo, delete_existing=True)
    assert _repo_files(repo) == common | {"extra_b"}


def test_revision_branch_and_pull_request(local_hub, tmp_path):
    from huggingface_hub import HfApi

    from hfplug.hub import resolve_model_path

    repo = local_hub.repo_id("branches")
    push(_mixin_folder(tmp_path, "main", on_main=b"1"), repo)
    push(_mixin_folder(tmp_path, "dev", on_dev=b"2"), repo, revision="dev")
    pr_url = push(_mixin_folder(tmp_path, "pr", on_pr=b"3"), repo, create_pr=True)

    assert "on_dev" not in _repo_files(repo) and "on_pr" not in _repo_files(repo)
    assert set(HfApi().list_repo_files(repo, revision="dev")) >= {"on_main", "on_dev"}
    assert pr_url == f"{local_hub.url}/{repo}/discussions/1"
    assert "on_pr" in HfApi().list_repo_files(repo, revision="refs/pr/1")
    assert (Path(resolve_model_path(f"hub:{repo}@dev")) / "on_dev").read_bytes() == b"2"


def test_server_killed_mid_commit_leaves_no_partial_commit_and_retry_lands_all(local_hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi, snapshot_download

    storage = tmp_path / "storage"
    folder = _mixin_folder(tmp_path, notes=b"notes\n", **{"tokenizer.json": b'{"x": 1}'})
    before = _snapshot(folder)
    repo = local_hub.repo_id("killed")
    process, url = spawn_hub_process(storage, die_mid_commit=True)
    try:
        point_libraries_at(monkeypatch, url, local_hub.token, local_hub.cache_dir)
        with pytest.raises(HubError, match="uploading and committing"):
            push(folder, repo)
        assert process.wait(timeout=10) != 0  # the server really died (SIGKILL) inside the commit
    finally:
        process.kill()
        process.wait()
    assert _snapshot(folder) == before
    # The staged commit object is on disk, but no ref points to it.
    assert len(list((storage / "repos" / "model" / repo / "commits").glob("*.json"))) == 2

    port = int(url.rsplit(":", 1)[1])
    process, url = spawn_hub_process(storage, port=port)
    try:
        api = HfApi()
        assert set(api.list_repo_files(repo)) == {".gitattributes"}
        assert [c.title for c in api.list_repo_commits(repo)] == ["initial commit"]

        push(folder, repo)

        local = Path(snapshot_download(repo))
        for name, digest in before.items():
            assert hashlib.sha256((local / name).read_bytes()).hexdigest() == digest, name
        assert len(api.list_repo_commits(repo)) == 2
    finally:
        process.kill()
        process.wait()
