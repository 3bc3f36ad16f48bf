"""The set-up step says what it does: no silent pip, and apt-get only after saying it runs as root and why."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fake_command(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(("uid", "runs_apt"), [("0", True), ("1000", False)])
def test_system_deps_says_when_it_runs_apt_get_as_root(tmp_path, uid, runs_apt):
    log = tmp_path / "apt.log"
    _fake_command(tmp_path, "id", f"echo {uid}")
    _fake_command(tmp_path, "apt-get", f'echo "apt-get $*" >> {log}')
    # Only the fakes are on PATH: bwrap is missing, whatever this machine has installed.
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "system-deps.sh")],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    if runs_apt:
        assert "running apt-get as root to install bubblewrap" in done.stdout
        assert "sandboxes model-written code" in done.stdout
        assert log.read_text().splitlines() == ["apt-get update -q", "apt-get install -y -q bubblewrap"]
    else:
        assert "not installing bubblewrap (needs root and apt-get)" in done.stderr and not log.exists()


def test_the_install_step_is_not_silent():
    makefile = (ROOT / "Makefile").read_text()
    assert "--quiet" not in makefile and " -q " not in makefile
    assert makefile.count('@echo "== ') >= 4  # each stage says what it installs
