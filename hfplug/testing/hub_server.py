"""A local, Hub-compatible HTTP server for tests: a test double, not the Hugging Face Hub.

It implements the subset of the Hub's HTTP API that ``huggingface_hub`` 2.4.0 (the version hfplug
pins) calls for: create/delete a repo, repo info, whoami, preupload, the LFS batch API with basic
transfer, commits (regular + LFS files, deletions, ``parentCommit``, ``create_pr``), branches, refs,
commit history, tree listing, paths-info, YAML validation and ``resolve`` (download, HEAD and GET).
Everything else answers 404. There are no users, permissions, Xet storage, rate limits or CDN
redirects: any ``Authorization: Bearer ...`` header counts as the one user ``hfplug-user``.

Storage is a plain folder, so a server restarted on the same folder sees the same repos. A commit
is published by one atomic rename of the repo's ref file, after its objects are on disk: a commit
that is interrupted (server killed, connection dropped) is never visible.

Use it from tests through the ``local_hub`` fixture (:mod:`hfplug.testing.hub_fixture`), in a
thread with :class:`LocalHub`, or as a process: ``python -m hfplug.testing.hub_server --root DIR``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# The huggingface_hub release whose requests this double was written against (the host pins it).
TESTED_HUGGINGFACE_HUB = "2.4.0"
USER_NAME = "hfplug-user"
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
# What the Hub puts in a new repo's .gitattributes; files matching these go through LFS.
LFS_PATTERNS = (
    "*.bin", "*.safetensors", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.onnx", "*.msgpack", "*.npy", "*.npz",
    "*.pkl", "*.pickle", "*.arrow", "*.parquet", "*.gguf", "*.zip", "*.gz", "*.tar", "*.model",
)  # fmt: skip
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS)
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024


def git_blob_oid(content: bytes) -> str:
    """The git object id of a blob, which the Hub reports for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


class HubHTTPError(Exception):
    """An error answer: status, message and the ``X-Error-Code`` huggingface_hub maps to its exceptions."""

    def __init__(
        self, status: int, message: str, error_code: str | None = None, commit: str | None = None, **extra: Any
    ):
        super().__init__(message)
        self.status, self.message, self.error_code, self.commit = status, message, error_code, commit
        self.extra = extra


@dataclass
class Fault:
    """A planned failure: the next ``times`` requests to ``endpoint`` get ``status``, or the connection is
    dropped without an answer when ``status`` is ``None``."""

    endpoint: str
    status: int | None = 500
    times: int = 1


@dataclass
class RepoStore:
    """One repo on disk: ``repo.json`` (refs, visibility) and ``commits/<sha>.json`` (full trees)."""

    path: Path

    def load(self) -> dict[str, Any]:
        return json.loads((self.path / "repo.json").read_text())

    def save(self, meta: dict[str, Any]) -> None:
        # One rename publishes every ref change at once: readers see the old refs or the new ones.
        temporary = self.path / f".repo.{uuid.uuid4().hex}.tmp"
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, self.path / "repo.json")

    def commit(self, sha: str) -> dict[str, Any]:
        return json.loads((self.path / "commits" / f"{sha}.json").read_text())

    def write_commit(self, commit: dict[str, Any]) -> str:
        body = json.dumps(commit, sort_keys=True)
        sha = hashlib.sha1(body.encode() + uuid.uuid4().bytes).hexdigest()
        (self.path / "commits" / f"{sha}.json").write_text(body)
        return sha


@dataclass
class HubState:
    """Everything the request handlers share: storage folder, lock, planned faults, request log."""

    root: Path
    die_mid_commit: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256

    def store_object(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        target = self.object_path(sha256)
        if not target.exists():
            temporary = target.with_name(f".{sha256}.{uuid.uuid4().hex}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, target)
        return sha256

    def repo(self, repo_type: str, repo_id: str) -> RepoStore:
        store = RepoStore(self.root / "repos" / repo_type / repo_id)
        if not (store.path / "repo.json").exists():
            raise HubHTTPError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return store

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.endpoint == endpoint and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None


def _tree_entry(path: str, item: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "path": path, "size": item["size"], "oid": item["oid"]}
    if item["lfs"]:
        pointer = lfs_pointer(item["sha256"], item["size"])
        entry["lfs"] = {"oid": item["sha256"], "size": item["size"], "pointerSize": len(pointer)}
    return entry


def _folders_of(paths: list[str]) -> set[str]:
    return {"/".join(parts[:depth]) for parts in (p.split("/") for p in paths) for depth in range(1, len(parts))}


def _folder_entry(folder: str, tree: dict[str, Any]) -> dict[str, Any]:
    inside = sorted(f"{p}:{v['oid']}" for p, v in tree.items() if p.startswith(folder + "/"))
    return {"type": "directory", "path": folder, "oid": hashlib.sha1("\n".join(inside).encode()).hexdigest()}


def _front_matter(text: str) -> Any:
    import yaml  # a host dependency; imported here so the module stays light

    if not text.startswith("---"):
        return None
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ValueError("README front matter is not closed by a '---' line")
    return yaml.safe_load(parts[0][3:])


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one request. HTTP/1.0 (one request per connection) keeps a killed server's clients honest."""

    server: HubHTTPServer
    protocol_version = "HTTP/1.0"

    # -- plumbing -------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces stderr noise
        pass

    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json_body(self) -> Any:
        body = self._read_body()
        return json.loads(body) if body else {}

    def send_response(self, code: int, message: str | None = None) -> None:
        # Logged before the answer goes out: a test that reads ``requests`` as soon as its call returns must find
        # the request there. Logging after the send raced with the client on a loaded machine.
        self.state.requests.append((self.command, urlsplit(self.path).path, code))
        super().send_response(code, message)

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
        body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        if raw is None:
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "").startswith("Bearer ") and len(self.headers["Authorization"]) > 7

    def _require_token(self) -> None:
        if not self._authorized():
            raise HubHTTPError(401, "Invalid credentials in Authorization header")

    # -- dispatch -------------------------------------------------------------------------------
    _API = r"/api/(?P<t>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)"
    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/api/whoami-v2", "whoami"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("POST", r"/api/repos/create", "create"),
        ("DELETE", r"/api/repos/delete", "delete"),
        ("POST", _API + r"/preupload/(?P<rev>[^/]+)", "preupload"),
        ("POST", _API + r"/commit/(?P<rev>[^/]+)", "commit"),
        ("POST", _API + r"/branch/(?P<rev>[^/]+)", "branch"),
        ("POST", _API + r"/paths-info/(?P<rev>[^/]+)", "paths_info"),
        ("GET", _API + r"/refs", "refs"),
        ("GET", _API + r"/commits/(?P<rev>[^/]+)", "commits"),
        ("GET", _API + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
        ("GET", _API + r"(?:/revision/(?P<rev>[^/]+))?", "info"),
        ("POST", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/lfs-objects/(?P<t>model|dataset|space)/(?P<repo>[^/]+/[^/]+)/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
        ("GET", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    )

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        method = "GET" if self.command == "HEAD" else self.command
        for route_method, pattern, endpoint in self.ROUTES:
            match = re.fullmatch(pattern, url.path)
            if route_method != method or match is None:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            if "prefix" in params or endpoint in ("lfs_batch", "resolve"):
                params["t"] = {"datasets/": "dataset", "spaces/": "space"}.get(params.pop("prefix", ""), "model")
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                fault = self.state.take_fault(endpoint)
                if fault is not None and fault.status is None:
                    self.close_connection = True  # drop the connection without an answer
                    self.state.requests.append((self.command, url.path, 0))
                    return
                if fault is not None:
                    raise HubHTTPError(fault.status or 500, f"Injected failure on {endpoint}")
                getattr(self, f"_do_{endpoint}")(query=query, **params)
            except HubHTTPError as error:
                headers = {"X-Error-Message": error.message}
                if error.error_code:
                    headers["X-Error-Code"] = error.error_code
                if error.commit:
                    headers["X-Repo-Commit"] = error.commit
                self._send(error.status, {"error": error.message, **error.extra}, headers)
            except Exception:
                self.state.requests.append((self.command, url.path, 500))  # a bug in the double: no answer sent
                raise
            return
        self._send(404, {"error": f"Not implemented by the local Hub test double: {self.command} {url.path}"})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch

    # -- helpers on repos ------------------------------------------------------------------------
    def _resolve_revision(self, store: RepoStore, revision: str) -> str:
        meta = store.load()
        if revision in meta["refs"]:
            return meta["refs"][revision]
        if re.fullmatch(r"[0-9a-f]{40}", revision) and (store.path / "commits" / f"{revision}.json").exists():
            return revision
        raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def _readable_repo(self, repo_type: str, repo_id: str) -> RepoStore:
        store = self.state.repo(repo_type, repo_id)
        if store.load()["private"] and not self._authorized():
            raise HubHTTPError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return store

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.base_url}/{URL_PREFIXES[repo_type]}{repo_id}"

    # -- endpoints ------------------------------------------------------------------------------
    def _do_whoami(self, query: dict[str, str]) -> None:
        self._require_token()
        self._send(200, {"type": "user", "name": USER_NAME, "orgs": [], "auth": {"accessToken": {"role": "write"}}})

    def _do_validate_yaml(self, query: dict[str, str]) -> None:
        content = self._json_body().get("content", "")
        try:
            metadata = _front_matter(content)
            if metadata is not None and not isinstance(metadata, dict):
                raise ValueError("README front matter must be a YAML mapping")
        except Exception as error:  # any YAML error is the user's metadata being invalid
            self._send(400, {"errors": [{"message": str(error)}], "warnings": []})
            return
        self._send(200, {"errors": [], "warnings": []})

    def _do_create(self, query: dict[str, str]) -> None:
        self._require_token()
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or USER_NAME}/{payload['name']}"
        path = self.state.root / "repos" / repo_type / repo_id
        with self.state.lock:
            if (path / "repo.json").exists():
                url = self._repo_url(repo_type, repo_id)
                raise HubHTTPError(409, f"You already created this {repo_type} repo: {url}", url=url)
            (path / "commits").mkdir(parents=True, exist_ok=True)
            store = RepoStore(path)
            content = GITATTRIBUTES.encode()
            tree = {".gitattributes": self._regular_item(content)}
            first = {"parent": None, "title": "initial commit", "description": "", "date": time.time(), "tree": tree}
            private = payload.get("private") or payload.get("visibility") == "private"
            store.save({"private": bool(private), "refs": {"main": store.write_commit(first)}, "next_pr": 1})
        self._send(200, {"url": self._repo_url(repo_type, repo_id), "name": repo_id})

    def _do_delete(self, query: dict[str, str]) -> None:
        self._require_token()
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or USER_NAME}/{payload['name']}"
        with self.state.lock:
            store = self.state.repo(repo_type, repo_id)
            graveyard = self.state.root / "deleted" / uuid.uuid4().hex
            graveyard.parent.mkdir(exist_ok=True)
            os.replace(store.path, graveyard)  # one rename: the repo is there or gone
        self._send(200, {})

    def _do_info(self, query: dict[str, str], t: str, repo: str, rev: str = "main") -> None:
        store = self._readable_repo(t, repo)
        sha = self._resolve_revision(store, rev)
        commit = store.commit(sha)
        siblings = [{"rfilename": path} for path in sorted(commit["tree"])]
        card_data = None
        if "README.md" in commit["tree"]:
            with contextlib.suppress(Exception):
                card_data = _front_matter(self.state.object_path(commit["tree"]["README.md"]["sha256"]).read_text())
        info = {
            "id": repo,
            "author": repo.split("/")[0],
            "sha": sha,
            "private": store.load()["private"],
            "disabled": False,
            "gated": False,
            "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit["date"])),
            "tags": (card_data or {}).get("tags", []) if isinstance(card_data, dict) else [],
            "cardData": card_data,
            "siblings": siblings,
            "downloads": 0,
            "likes": 0,
        }
        self._send(200, info)

    def _do_refs(self, query: dict[str, str], t: str, repo: str) -> None:
        refs = self._readable_repo(t, repo).load()["refs"]
        branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in refs.items() if "/" not in n]
        pulls = [{"name": n, "ref": n, "targetCommit": s} for n, s in refs.items() if n.startswith("refs/pr/")]
        self._send(200, {"branches": branches, "tags": [], "converts": [], "pullRequests": pulls})

    def _do_commits(self, query: dict[str, str], t: str, repo: str, rev: str) -> None:
        store = self._readable_repo(t, repo)
        sha: str | None = self._resolve_revision(store, rev)
        history = []
        while sha is not None:
            commit = store.commit(sha)
            date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit["date"]))
            history.append(
                {"id": sha, "title": commit["title"], "message": commit["description"], "authors": [], "date": date}
            )
            sha = commit["parent"]
        self._send(200, history)

    def _do_branch(self, query: dict[str, str], t: str, repo: str, rev: str) -> None:
        self._require_token()
        payload = self._json_body()
        with self.state.lock:
            store = self.state.repo(t, repo)
            meta = store.load()
            if rev in meta["refs"]:
                raise HubHTTPError(409, f"Reference already exists: refs/heads/{rev}")
            meta["refs"][rev] = self._resolve_revision(store, payload.get("startingPoint") or "main")
            store.save(meta)
        self._send(200, {})

    def _listing(self, store: RepoStore, rev: str) -> tuple[str, dict[str, Any]]:
        sha = self._resolve_revision(store, rev)
        return sha, store.commit(sha)["tree"]

    def _do_tree(self, query: dict[str, str], t: str, repo: str, rev: str, path: str = "") -> None:
        store = self._readable_repo(t, repo)
        sha, tree = self._listing(store, rev)
        path = path.strip("/")
        prefix = f"{path}/" if path else ""
        inside = [p for p in tree if p.startswith(prefix)]
        if path and not inside:
            raise HubHTTPError(404, f"{path} does not exist at {rev}", "EntryNotFound", sha)
        recursive = query.get("recursive", "false").lower() == "true"
        entries = []
        for folder in sorted(_folders_of(inside)):
            relative = folder[len(prefix) :]
            if folder.startswith(prefix) and relative and (recursive or "/" not in relative):
                entries.append(_folder_entry(folder, tree))
        for file_path in sorted(inside):
            if recursive or "/" not in file_path[len(prefix) :]:
                entries.append(_tree_entry(file_path, tree[file_path]))
        self._send(200, entries)

    def _do_paths_info(self, query: dict[str, str], t: str, repo: str, rev: str) -> None:
        store = self._readable_repo(t, repo)
        body = self._read_body().decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            asked = json.loads(body).get("paths", [])
        else:
            asked = parse_qs(body).get("paths", [])
        _, tree = self._listing(store, rev)
        folders = _folders_of(list(tree))
        entries = []
        for path in asked:
            path = path.strip("/")
            if path in tree:
                entries.append(_tree_entry(path, tree[path]))
            elif path in folders:
                entries.append(_folder_entry(path, tree))
        self._send(200, entries)

    def _do_preupload(self, query: dict[str, str], t: str, repo: str, rev: str) -> None:
        self._require_token()
        store = self.state.repo(t, repo)
        files = self._json_body().get("files", [])
        try:
            tree = self._listing(store, rev)[1]
        except HubHTTPError:
            tree = {}  # a branch that a PR or this commit creates
        answer = []
        for file in files:
            sample = base64.b64decode(file.get("sample", ""))
            lfs = (
                any(fnmatch.fnmatch(file["path"].rsplit("/", 1)[-1], pattern) for pattern in LFS_PATTERNS)
                or file.get("size", 0) >= LFS_SIZE_THRESHOLD
                or b"\0" in sample
            )
            existing = tree.get(file["path"])
            remote_oid = None if existing is None else (existing["sha256"] if existing["lfs"] else existing["oid"])
            mode = "lfs" if lfs else "regular"
            answer.append({"path": file["path"], "uploadMode": mode, "shouldIgnore": False, "oid": remote_oid})
        self._send(200, {"files": answer, "commitOid": None})

    def _do_lfs_batch(self, query: dict[str, str], t: str, repo: str) -> None:
        self._require_token()
        store = self.state.repo(t, repo)
        payload = self._json_body()
        objects = []
        for obj in payload.get("objects", []):
            answer: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not (store.path / "lfs" / obj["oid"]).exists():
                href = f"{self.base_url}/lfs-objects/{t}/{repo}/{obj['oid']}"
                answer["actions"] = {"upload": {"href": href, "header": {}}}
            objects.append(answer)
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _do_lfs_upload(self, query: dict[str, str], t: str, repo: str, oid: str) -> None:
        store = self.state.repo(t, repo)
        content = self._read_body()
        if hashlib.sha256(content).hexdigest() != oid:
            raise HubHTTPError(400, f"Uploaded content does not match sha256 {oid}")
        self.state.store_object(content)
        # LFS objects belong to a repo: another repo with the same bytes must upload them itself.
        (store.path / "lfs").mkdir(exist_ok=True)
        (store.path / "lfs" / oid).touch()
        self._send(200, {})

    def _regular_item(self, content: bytes) -> dict[str, Any]:
        sha256 = self.state.store_object(content)
        return {"sha256": sha256, "size": len(content), "lfs": False, "oid": git_blob_oid(content)}

    def _apply_operations(self, store: RepoStore, tree: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        tree = dict(tree)
        for line in lines:
            key, value = line.get("key"), line.get("value", {})
            path = value.get("path", "").strip("/")
            if key == "file":
                tree[path] = self._regular_item(base64.b64decode(value["content"]))
            elif key == "lfsFile":
                oid = value["oid"]
                if not (store.path / "lfs" / oid).exists():
                    raise HubHTTPError(422, f"LFS object {oid} for {path} was never uploaded")
                size = self.state.object_path(oid).stat().st_size
                tree[path] = {"sha256": oid, "size": size, "lfs": True, "oid": git_blob_oid(lfs_pointer(oid, size))}
            elif key == "deletedFile":
                if path not in tree:
                    raise HubHTTPError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del tree[path]
            elif key == "deletedFolder":
                tree = {p: v for p, v in tree.items() if not p.startswith(path + "/") and p != path}
            else:
                raise HubHTTPError(400, f"Unknown commit operation {key!r}")
        return tree

    def _do_commit(self, query: dict[str, str], t: str, repo: str, rev: str) -> None:
        self._require_token()
        store = self.state.repo(t, repo)
        lines = [json.loads(line) for line in self._read_body().splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line.get("key") == "header"), {})
        operations = [line for line in lines if line.get("key") != "header"]
        create_pr = query.get("create_pr") == "1"
        with self.state.lock:
            meta = store.load()
            parent = self._resolve_revision(store, "main" if create_pr else rev)
            expected = header.get("parentCommit")
            if expected is not None and expected != parent:
                raise HubHTTPError(412, f"Parent commit {expected} is not the head {parent} of {rev}")
            tree = self._apply_operations(store, store.commit(parent)["tree"], operations)
            commit = {
                "parent": parent,
                "title": header.get("summary", ""),
                "description": header.get("description", ""),
                "date": time.time(),
                "tree": tree,
            }
            sha = store.write_commit(commit)
            if self.state.die_mid_commit:
                # The commit object is on disk but no ref points at it: kill the server right here, like a
                # crash between writing objects and publishing the ref.
                os.kill(os.getpid(), signal.SIGKILL)
            pr_url = None
            if create_pr:
                number = meta["next_pr"]
                meta["next_pr"] = number + 1
                meta["refs"][f"refs/pr/{number}"] = sha
                pr_url = f"{self._repo_url(t, repo)}/discussions/{number}"
            else:
                meta["refs"][rev] = sha
            store.save(meta)  # the commit becomes visible here, all at once
        answer = {"success": True, "commitOid": sha, "commitUrl": f"{self._repo_url(t, repo)}/commit/{sha}"}
        if pr_url is not None:
            answer["pullRequestUrl"] = pr_url
        self._send(200, answer)

    def _do_resolve(self, query: dict[str, str], t: str, repo: str, rev: str, path: str) -> None:
        store = self._readable_repo(t, repo)
        sha, tree = self._listing(store, rev)
        item = tree.get(path)
        if item is None:
            raise HubHTTPError(404, f"Entry not found: {path}", "EntryNotFound", sha)
        headers = {"X-Repo-Commit": sha, "ETag": f'"{item["oid"]}"', "Content-Type": "application/octet-stream"}
        if item["lfs"]:
            headers.update({"X-Linked-Etag": f'"{item["sha256"]}"', "X-Linked-Size": str(item["size"])})
        content = self.state.object_path(item["sha256"]).read_bytes()
        status = 200
        byte_range = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if byte_range:
            start = int(byte_range.group(1))
            end = int(byte_range.group(2)) if byte_range.group(2) else len(content) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content, status = content[start : end + 1], 206
        self._send(status, headers=headers, raw=content)


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: HubState):
        super().__init__(address, HubRequestHandler)
        self.state = state


class LocalHub:
    """The test double served from a background thread of this process.

    ``LocalHub(root)`` binds 127.0.0.1 on a random port (or ``port``); ``url`` is what ``HF_ENDPOINT``
    should be. ``fail(endpoint, status=500, times=1)`` plans failures (``status=None`` drops the
    connection); endpoint names: create, delete, info, preupload, lfs_batch, lfs_upload, commit,
    branch, tree, paths_info, resolve, ... (the third field of :attr:`HubRequestHandler.ROUTES`).
    ``requests`` logs ``(method, path, status)`` of every request.
    """

    def __init__(self, root: str | Path | None = None, port: int = 0):
        self._temporary = None if root is not None else tempfile.TemporaryDirectory(prefix="hfplug-hub-")
        self.state = HubState(Path(root) if root is not None else Path(self._temporary.name))
        self.server = HubHTTPServer(("127.0.0.1", port), self.state)
        self._thread = threading.Thread(target=self.server.serve_forever, name="hfplug-local-hub", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def root(self) -> Path:
        return self.state.root

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return self.state.requests

    def fail(self, endpoint: str, status: int | None = 500, times: int = 1) -> None:
        """Make the next ``times`` requests to ``endpoint`` fail with ``status`` (``None``: drop the connection)."""
        if endpoint not in {route[2] for route in HubRequestHandler.ROUTES}:
            raise ValueError(f"Unknown endpoint {endpoint!r}")
        with self.state.lock:
            self.state.faults.append(Fault(endpoint, status, times))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        if self._temporary is not None:
            self._temporary.cleanup()

    def __enter__(self) -> LocalHub:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spawn_hub_process(
    root: str | Path, port: int = 0, *, die_mid_commit: bool = False
) -> tuple[subprocess.Popen[str], str]:
    """Run the server in a child process (which a test may kill); returns the process and its URL."""
    command = [sys.executable, "-m", "hfplug.testing.hub_server", "--root", str(root), "--port", str(port)]
    if die_mid_commit:
        command.append("--die-mid-commit")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"local Hub process did not start (exit code {process.wait()})")
    return process, url


def main(argv: list[str] | None = None) -> None:
    """Serve a storage folder until killed; prints the URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description="Local Hub-compatible test server (a test double).")
    parser.add_argument("--root", required=True, help="storage folder (kept across restarts)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: random)")
    parser.add_argument(
        "--die-mid-commit", action="store_true", help="SIGKILL itself after staging the first commit, before publishing"
    )
    args = parser.parse_args(argv)
    state = HubState(Path(args.root), die_mid_commit=args.die_mid_commit)
    server = HubHTTPServer(("127.0.0.1", args.port), state)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
