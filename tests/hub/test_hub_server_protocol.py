"""The local Hub test double answers like the Hub where huggingface_hub depends on it."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request

import pytest

from hfplug.testing.hub_server import git_blob_oid


def _request(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def api(local_hub):
    from huggingface_hub import HfApi

    return HfApi()


def test_resolve_headers_match_what_hf_hub_download_needs(local_hub, api):
    repo = local_hub.repo_id("headers")
    api.create_repo(repo)
    weights = bytes(range(256)) * 8
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="notes.txt", repo_id=repo)
    commit = api.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id=repo)

    status, headers, body = _request(f"{local_hub.url}/{repo}/resolve/main/notes.txt")
    assert status == 200 and body == b"hello"
    assert headers["X-Repo-Commit"] == commit.oid
    assert headers["ETag"] == f'"{git_blob_oid(b"hello")}"'

    status, headers, _ = _request(f"{local_hub.url}/{repo}/resolve/main/w.safetensors", method="HEAD")
    assert headers["X-Linked-Etag"] == f'"{hashlib.sha256(weights).hexdigest()}"'
    assert headers["X-Linked-Size"] == str(len(weights))

    status, _, body = _request(f"{local_hub.url}/{repo}/resolve/main/w.safetensors", headers={"Range": "bytes=10-"})
    assert status == 206 and body == weights[10:]

    status, headers, _ = _request(f"{local_hub.url}/{repo}/resolve/main/missing.txt")
    assert status == 404 and headers["X-Error-Code"] == "EntryNotFound" and headers["X-Repo-Commit"] == commit.oid


def test_lfs_files_are_listed_with_lfs_metadata(local_hub, api):
    repo = local_hub.repo_id("lfs")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"\0binary" * 100, path_in_repo="sub/blob.bin", repo_id=repo)
    (folder,) = [entry for entry in api.list_repo_tree(repo) if entry.path == "sub"]
    (entry,) = list(api.list_repo_tree(repo, path_in_repo="sub"))
    assert folder.tree_id and entry.path == "sub/blob.bin"
    assert entry.lfs.sha256 == hashlib.sha256(b"\0binary" * 100).hexdigest() and entry.lfs.size == 700


def test_stale_parent_commit_is_refused_and_changes_nothing(local_hub, api):
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    repo = local_hub.repo_id("parent")
    api.create_repo(repo)
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id=repo).oid
    api.upload_file(path_or_fileobj=b"2", path_in_repo="b.txt", repo_id=repo)
    with pytest.raises(HfHubHTTPError, match="412"):
        api.create_commit(repo, [CommitOperationAdd("c.txt", b"3")], commit_message="stale", parent_commit=first)
    assert set(api.list_repo_files(repo)) == {".gitattributes", "a.txt", "b.txt"}


def test_private_repo_is_invisible_without_token(local_hub, api, monkeypatch):
    from huggingface_hub.errors import RepositoryNotFoundError

    repo = local_hub.repo_id("secret")
    api.create_repo(repo, private=True)
    assert api.model_info(repo).private is True
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo, token=False)


def test_writes_need_a_token(local_hub, api):
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError, match="401"):
        api.create_repo(local_hub.repo_id("anonymous"), token=False)


def test_lfs_objects_belong_to_the_repo_that_uploaded_them(local_hub, api):
    from huggingface_hub import CommitOperationAdd

    content = b"\0shared" * 50
    first, second = local_hub.repo_id("one"), local_hub.repo_id("two")
    for repo in (first, second):
        api.create_repo(repo)
    api.upload_file(path_or_fileobj=content, path_in_repo="x.bin", repo_id=first)
    api.create_commit(second, [CommitOperationAdd("x.bin", content)], commit_message="same bytes")
    uploads = [path for method, path, status in local_hub.server.requests if method == "PUT" and status == 200]
    assert any(first in path for path in uploads) and any(second in path for path in uploads)


def test_delete_and_recreate_repo(local_hub, api):
    repo = local_hub.repo_id("gone")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    api.delete_repo(repo)
    assert not api.repo_exists(repo)
    api.create_repo(repo)
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_unimplemented_endpoints_say_so(local_hub):
    status, _, body = _request(f"{local_hub.url}/api/spaces/x/y/runtime")
    assert status == 404 and b"Not implemented by the local Hub test double" in body


def test_fail_rejects_unknown_endpoint_names(local_hub):
    with pytest.raises(ValueError, match="Unknown endpoint 'comit'"):
        local_hub.server.fail("comit")


def test_installed_huggingface_hub_is_the_pinned_version_the_double_follows():
    from importlib import metadata

    import huggingface_hub

    from hfplug.testing.hub_server import TESTED_HUGGINGFACE_HUB

    pins = [r for r in metadata.requires("hfplug") or [] if r.replace("_", "-").startswith("huggingface-hub")]
    assert pins == [f"huggingface-hub=={TESTED_HUGGINGFACE_HUB}"]
    assert huggingface_hub.__version__ == TESTED_HUGGINGFACE_HUB


def test_a_request_is_logged_before_its_answer_goes_out(local_hub, monkeypatch):
    """A test reads ``requests`` as soon as its call returns, so the log must not lag the answer (it did, and a
    loaded CI machine read an empty log)."""
    from hfplug.testing.hub_server import HubRequestHandler

    logged_when_answered = []
    original_end_headers = HubRequestHandler.end_headers

    def end_headers(handler):
        logged_when_answered.append(list(handler.state.requests))
        original_end_headers(handler)

    monkeypatch.setattr(HubRequestHandler, "end_headers", end_headers)
    missing = local_hub.repo_id("never-created")
    status, _, _ = _request(f"{local_hub.url}/api/models/{missing}")
    assert status in (401, 404)
    assert ("GET", f"/api/models/{missing}", status) in logged_when_answered[-1]
