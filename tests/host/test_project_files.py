"""Project files speak of the project alone: no absolute path of the machine they were written on, and no
path to the build workspace's notes beside the repository (``../shared``)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATH = re.compile(r"(?<![\w.])/(work|root)/|\.\./shared/")
SKIP_SUFFIXES = {".png", ".jpg", ".gguf", ".safetensors", ".bin", ".parquet", ".arrow"}


def project_files() -> list[Path]:
    """Tracked files in a git checkout; otherwise every file outside the virtualenv and outputs."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
        return [ROOT / name for name in listed.stdout.splitlines()]
    except (OSError, subprocess.SubprocessError):
        ignored = {".venv", "outputs", ".git", "__pycache__"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not ignored & set(p.relative_to(ROOT).parts)]


def test_no_file_names_an_absolute_path_of_this_machine():
    offenders = []
    for path in project_files():
        if path.suffix in SKIP_SUFFIXES or not path.is_file() or path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [
            f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1) if MACHINE_PATH.search(line)
        ]
    assert offenders == [], "name the paper by its arXiv id instead: " + ", ".join(offenders)
