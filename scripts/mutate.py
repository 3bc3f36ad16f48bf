"""Mutation testing of one plugin's core modules with mutmut: ``make mutate PLUGIN=<name>`` (see docs/testing.md).

What is mutated and which tests run come from ``plugins/<name>/mutate.toml``::

    core = ["hfplug_x/losses.py", "hfplug_x/bounds.py"]   # the math, relative to plugins/<name>/
    tests = ["tests/plugins/x"]                             # relative to the repository root

    skip_lines = ["^\\s*raise "]                           # optional: statements not mutated (regexes)
    isolation = "forkserver"                                # optional, default "fork": see below

    [equivalent]                                            # mutants no test can kill, one line of why each
    "hfplug_x.losses.x_loss__mutmut_7" = "clamp(min=1) vs clamp(min=0): the count is never 0 here"

The run never touches the working tree: the plugin's package, its tests and the suite's root conftest are
copied into a work dir of their own (``$HFPLUG_MUTATE_DIR/<name>``, by default ``$TMPDIR/hfplug-mutate/<name>``),
and mutmut runs there. mutmut puts its mutated copy first on ``sys.path`` (ahead of the editable install's
finder), and ``PYTHONPATH`` carries it to the subprocesses tests start; the script checks both before it runs.
Runs of different plugins can go on at once; two runs of the same plugin are refused (a lock file).

``isolation``: mutmut forks each mutant's test process from its main process (``fork``, fast: the tests' imports
and fixtures are warm) or from a server that has only collected the tests (``forkserver``). A plugin whose code
runs thread pools the tests start (numba's parallel kernels) needs ``forkserver``: a process forked after such a
pool ran inherits it dead and hangs, which mutmut would count as a kill (a timeout).

Score = detected / (mutants - listed equivalents), detected = killed or timed out. Every mutant not detected is
printed with its diff; so is each listed equivalent, beside its reason, so a reader can check the claim.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_NAME = "mutate.toml"
# mutmut's statuses: a mutant a test noticed, and one it did not.
DETECTED = {"killed", "timeout", "segfault"}
DEFAULT_TIMEOUT_MULTIPLIER = 15.0  # mutmut's own default
RESULT_LINE = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")
# Statements starting on a line that matches are not mutated: an error's message is not the math (the condition
# that raises it still is, and bad-input tests check the errors). A mutate.toml's skip_lines replaces this list.
SKIP_LINES = [r"^\s*raise "]


def plugins_with_config() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "plugins").glob(f"*/{CONFIG_NAME}"))


def check_timeout_multiplier(value: object, where: str) -> None:
    """mutmut's timeout multiplier: a number of at least 1 (below, a mutant's tests get less than their own time)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 1:
        raise SystemExit(f"{where} must be a number >= 1, got {value!r}")


def load_plugin_config(plugin: str) -> dict:
    """The plugin's mutate.toml, checked: core files exist, test paths exist, reasons are non-empty."""
    path = ROOT / "plugins" / plugin / CONFIG_NAME
    if not path.is_file():
        raise SystemExit(f"No {path.relative_to(ROOT)}; plugins with one: {', '.join(plugins_with_config()) or 'none'}")
    config = tomllib.loads(path.read_text())
    unknown = set(config) - {"core", "tests", "skip_lines", "isolation", "timeout_multiplier", "equivalent"}
    if unknown or not config.get("core") or not config.get("tests"):
        raise SystemExit(f"{path}: needs 'core' and 'tests' lists (and optionally [equivalent]); unknown: {unknown}")
    check_timeout_multiplier(
        config.get("timeout_multiplier", DEFAULT_TIMEOUT_MULTIPLIER), f"{path}: timeout_multiplier"
    )
    for core in config["core"]:
        if not (path.parent / core).is_file():
            raise SystemExit(f"{path}: core module {core!r} does not exist under plugins/{plugin}/")
    for tests in config["tests"]:
        if not (ROOT / tests).exists():
            raise SystemExit(f"{path}: test path {tests!r} does not exist")
    for name, why in config.get("equivalent", {}).items():
        if not str(why).strip():
            raise SystemExit(f"{path}: equivalent mutant {name!r} needs a one-line reason")
    return config


def package_dir(plugin: str, config: dict) -> Path:
    """The plugin's importable package: the first path component of its core modules."""
    packages = {Path(core).parts[0] for core in config["core"]}
    if len(packages) != 1:
        raise SystemExit(f"core modules of {plugin} must lie in one package, got {sorted(packages)}")
    return ROOT / "plugins" / plugin / packages.pop()


def toml_list(values: list[str]) -> str:
    return json.dumps(values)  # a JSON list of strings is a valid TOML array


def write_project(workdir: Path, package: str, config: dict) -> None:
    """The work dir's pyproject: mutmut's settings, and the suite's pytest settings without its testpaths."""
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    (workdir / "pyproject.toml").write_text(
        "\n".join(
            [
                "[tool.mutmut]",
                f"source_paths = {toml_list([package])}",
                f"only_mutate = {toml_list(config['core'])}",
                f"pytest_add_cli_args_test_selection = {toml_list(config['tests'])}",
                f"do_not_mutate_patterns = {toml_list(config.get('skip_lines', SKIP_LINES))}",
                f"process_isolation = {json.dumps(config.get('isolation', 'fork'))}",
                # A mutant's tests get (their measured time + 1 s) x this in wall time before mutmut calls it a
                # timeout (= detected); on a loaded machine a niced run needs more, or a crash reads as a kill.
                f"timeout_multiplier = {float(config.get('timeout_multiplier', DEFAULT_TIMEOUT_MULTIPLIER))}",
                # The real-model tests take minutes each; mutation runs use the fast ones.
                f"pytest_add_cli_args = {toml_list(['-m', 'not slow'])}",
                "",
                "[tool.pytest.ini_options]",
                f"addopts = {json.dumps(pytest_ini.get('addopts', ''))}",
                f"markers = {toml_list(pytest_ini.get('markers', []))}",
                f"filterwarnings = {toml_list(pytest_ini.get('filterwarnings', []))}",
                "",
            ]
        )
    )


def prepare(workdir: Path, plugin: str, config: dict, keep_results: bool = False) -> Path:
    """A fresh copy of what the run needs in ``workdir``; returns the package's name.

    ``keep_results``: leave ``mutants/`` (mutmut's mutated copies, per-function hashes and results) in place, so
    that mutmut checks only the mutants it has no result for and re-creates those of functions that changed.
    """
    package = package_dir(plugin, config)
    kept = {".lock", "mutants"} if keep_results else {".lock"}
    for entry in workdir.iterdir():
        if entry.name not in kept:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(package, workdir / package.name, ignore=ignore)
    for shared in ("tests/__init__.py", "tests/conftest.py"):
        (workdir / shared).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / shared, workdir / shared)
    for tests in config["tests"]:
        source, target = ROOT / tests, workdir / tests
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
            continue
        shutil.copy2(source, target)
        for helper in ("conftest.py", "__init__.py"):  # what a test file listed alone imports from its folder
            if (source.parent / helper).is_file():
                shutil.copy2(source.parent / helper, target.parent / helper)
    write_project(workdir, package.name, config)
    # Made before mutmut starts so that PYTHONPATH's entry is a directory when Python first looks at it
    # (a missing one is cached as "no finder" and would stay skipped).
    (workdir / "mutants").mkdir(exist_ok=True)
    return package


# Imported first by every Python subprocess a test starts (torchrun workers, scripts): while mutmut maps tests
# to functions ("stats"), a child's hits could not reach the parent and mutmut's hit recorder would look for its
# config in the child's cwd and crash, so children run the original code then; under a mutant they run the mutant.
SUBPROCESS_SITE = """import os
if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    os.environ["MUTANT_UNDER_TEST"] = ""
"""


def run_environment(workdir: Path) -> dict[str, str]:
    """mutmut's environment: children import the mutated copy first, and hypothesis tries more examples."""
    site = workdir / "subprocess-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SUBPROCESS_SITE)
    env = dict(os.environ)
    paths = [str(workdir / "mutants"), str(site), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    env["HYPOTHESIS_PROFILE"] = "mutate"
    return env


def check_shadowing(workdir: Path, package: str, env: dict[str, str]) -> None:
    """A subprocess started the way tests start them must import the copy, not the editable install."""
    found = subprocess.run(
        [sys.executable, "-c", f"import {package}; print({package}.__file__)"],
        cwd=workdir / "mutants",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to((workdir / "mutants").resolve()):
        raise SystemExit(f"{package} imports from {found}, not from the work dir's copy: the run would be void")


def mutmut(workdir: Path, env: dict[str, str], *args: str, capture: bool = False) -> str:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=capture, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`mutmut {' '.join(args)}` failed with exit status {done.returncode} (in {workdir})")
    return done.stdout if capture else ""


def results(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """Every mutant's status, by name."""
    statuses = {}
    for line in mutmut(workdir, env, "results", "--all", "true", capture=True).splitlines():
        match = RESULT_LINE.match(line)
        if match:
            statuses[match["name"]] = match["status"].strip()
    return statuses


def undetected_checked(statuses: dict[str, str]) -> list[str]:
    """Mutants a resumed run checks again: every checked one not detected. Survivors, and also "suspicious" ones
    (ended by something other than a test, e.g. a stopped run) and "no tests" ones (which new tests may reach),
    which would otherwise never be retried."""
    return sorted(name for name, status in statuses.items() if status not in DETECTED and status != "not checked")


def report(plugin: str, config: dict, statuses: dict[str, str], workdir: Path, env: dict, seconds: float) -> dict:
    unchecked = sorted(name for name, status in statuses.items() if status == "not checked")
    statuses = {name: status for name, status in statuses.items() if status != "not checked"}
    equivalents = config.get("equivalent", {})
    listed = {name for name in equivalents if name in statuses and statuses[name] not in DETECTED}
    stale = sorted(name for name in equivalents if name not in statuses and name not in unchecked)
    killed_equivalents = sorted(name for name in equivalents if statuses.get(name) in DETECTED)
    undetected = sorted(name for name, status in statuses.items() if status not in DETECTED and name not in listed)
    detected = sum(status in DETECTED for status in statuses.values())
    counted = len(statuses) - len(listed)
    score = detected / counted if counted else float("nan")

    for name in undetected:
        print(f"\n--- NOT DETECTED ({statuses[name]}) {name}")
        print(mutmut(workdir, env, "show", name, capture=True).rstrip())
    for name in sorted(listed):
        print(f"\n--- EQUIVALENT {name}: {equivalents[name]}")
        print(mutmut(workdir, env, "show", name, capture=True).rstrip())
    by_status: dict[str, int] = {}
    for status in statuses.values():
        by_status[status] = by_status.get(status, 0) + 1
    print(f"\n== {plugin}: {len(statuses)} mutants of {', '.join(config['core'])}")
    print(f"   by status: {json.dumps(by_status, sort_keys=True)}")
    print(f"   equivalents listed in plugins/{plugin}/{CONFIG_NAME}: {len(listed)}")
    if unchecked:
        print(f"   PARTIAL: {len(unchecked)} mutants not checked (a run of named mutants, or interrupted)")
    for name in stale:
        print(f"   WARNING: listed equivalent {name} does not exist any more (the code changed): re-check the list")
    for name in killed_equivalents:
        print(f"   WARNING: listed equivalent {name} was killed, so it is not equivalent: remove it from the list")
    print(f"   mutation score: {detected}/{counted} = {score:.1%}  ({seconds / 60:.1f} min, work dir {workdir})")
    return {
        "plugin": plugin,
        "mutants": len(statuses),
        "detected": detected,
        "equivalent": len(listed),
        "score": score,
        "by_status": by_status,
        "undetected": undetected,
        "unchecked": len(unchecked),
        "seconds": round(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plugin", help=f"a plugin with a {CONFIG_NAME}: {', '.join(plugins_with_config())}")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1: a shared machine)")
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 when the score is below this (0-1)")
    parser.add_argument("--mutants", nargs="+", default=[], help="run only these mutants (names or globs)")
    parser.add_argument(
        "--report-only", action="store_true", help="no run: score the work dir's last run against the current list"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the work dir's results: check the mutants not checked yet, then run the last run's undetected "
        "ones (survivors, suspicious, no tests) again (the tests may have changed since)",
    )
    parser.add_argument(
        "--timeout-multiplier",
        type=float,
        help="wall time a mutant's tests get, as a multiple of their measured time (overrides mutate.toml's "
        f"timeout_multiplier, default {DEFAULT_TIMEOUT_MULTIPLIER:g}); raise it on a loaded machine. Changing it "
        "makes mutmut re-run only the mutants it had called timeouts",
    )
    args = parser.parse_args()
    if not (Path(sys.executable).parent / "mutmut").exists():
        raise SystemExit("mutmut is not installed in this environment: pip install -e '.[dev]'")
    config = load_plugin_config(args.plugin)
    if args.timeout_multiplier is not None:
        check_timeout_multiplier(args.timeout_multiplier, "--timeout-multiplier")
        config["timeout_multiplier"] = args.timeout_multiplier

    base = Path(os.environ.get("HFPLUG_MUTATE_DIR") or Path(tempfile.gettempdir()) / "hfplug-mutate")
    workdir = (base / args.plugin).resolve()
    if workdir.is_relative_to(ROOT):
        raise SystemExit(f"the work dir {workdir} lies in the repository (shared by others); use one outside it")
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another mutation run of {args.plugin} is using {workdir}") from None
        if args.report_only:
            env = run_environment(workdir)
            # An interrupted run leaves no summary.json (prepare() clears the work dir first): no time to report.
            last = json.loads(summary_path.read_text()) if (summary_path := workdir / "summary.json").is_file() else {}
            summary = report(args.plugin, config, results(workdir, env), workdir, env, last.get("seconds", 0.0))
            (workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            sys.exit(1 if summary["score"] < args.fail_under else 0)
        start = time.monotonic()
        resuming = args.resume and (workdir / "mutants" / "mutmut-stats.json").is_file()
        if args.resume and not resuming:
            print(f"== nothing to resume in {workdir}: a full run", flush=True)
        package = prepare(workdir, args.plugin, config, keep_results=resuming)
        env = run_environment(workdir)
        survivors = undetected_checked(results(workdir, env)) if resuming else []
        if resuming:
            check_shadowing(workdir, package.name, env)  # mutmut's own copy is in mutants/ already
        else:
            # The copy must be importable from mutants/ too: mutmut copies it there before it runs the tests.
            shutil.copytree(workdir / package.name, workdir / "mutants" / package.name)
            check_shadowing(workdir, package.name, env)
            shutil.rmtree(workdir / "mutants" / package.name)
        print(f"== mutating {args.plugin} in {workdir} (tests: {' '.join(config['tests'])})", flush=True)
        mutmut(workdir, env, "run", "--max-children", str(args.jobs), *args.mutants)
        # mutmut re-runs every mutant named in --mutants whatever its last result, so those need no second pass.
        rerun = [] if args.mutants else survivors
        if rerun:
            print(
                f"== running the last run's {len(rerun)} undetected mutants again against the current tests", flush=True
            )
            mutmut(workdir, env, "run", "--max-children", str(args.jobs), *rerun)
        summary = report(args.plugin, config, results(workdir, env), workdir, env, time.monotonic() - start)
        (workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if summary["score"] < args.fail_under:
        sys.exit(1)


if __name__ == "__main__":
    main()
