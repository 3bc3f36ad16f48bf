"""trl's own GRPO tests run against ``MurphyTrainer`` + ``MurphyConfig(max_turns=1)``, outside this repository.

    python -m benchmarks.murphy_trl_suite /path/to/trl-checkout /tmp/murphy-trl [-k EXPR] [--only grpo|murphy]

trl's test file is not ours to copy, so nothing of it enters the repository: the check copies
``tests/test_grpo_trainer.py`` and ``tests/testing_utils.py`` from a trl checkout (use the commit
closest to the installed trl) into WORKDIR, builds offline stand-ins for the Hub ids
(standins.py), and runs the tests twice with pytest: with trl's ``GRPOTrainer``, then with
``MurphyTrainer`` in its place (scratch_conftest.py). It fetches nothing. It reports which tests
pass with GRPO, how many of those pass with Murphy, and, for every test both trained, whether
every value both logged agrees at every step (timings aside).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmarks.murphy_trl_suite.standins import build_standins

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
TIMING = {
    "step_time",
    *(f"{mode}_{what}" for mode in ("train", "eval") for what in ("runtime", "samples_per_second", "steps_per_second")),
}
DEFAULT_SELECTION = "TestGRPOTrainer"


def prepare(trl_checkout: Path, workdir: Path) -> None:
    tests = workdir / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    (tests / "__init__.py").write_text("")
    shutil.copy(trl_checkout / "tests" / "test_grpo_trainer.py", tests / "test_grpo_trainer.py")
    utils = (trl_checkout / "tests" / "testing_utils.py").read_text()
    # A helper newer checkouts import from trl.import_utils that the installed trl may lack.
    if "is_joblib_available" in utils:
        utils = utils.replace("    is_joblib_available,\n", "", 1)
        utils = "def is_joblib_available():\n    return False\n\n\n" + utils
    (tests / "testing_utils.py").write_text(utils)
    shutil.copy(HERE / "scratch_conftest.py", tests / "conftest.py")
    if not (workdir / "hub" / "trl-internal-testing" / "zen").exists():
        build_standins(trl_checkout, workdir / "hub")


def run_suite(workdir: Path, trainer: str, selection: str) -> dict[str, str]:
    """Run the tests with one trainer; returns test name -> passed | failed | skipped."""
    report = workdir / f"{trainer}.xml"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LOGDIR": str(workdir / f"logs-{trainer}")}
    env["MURPHY"] = "1" if trainer == "murphy" else "0"
    command = [sys.executable, "-m", "pytest", "tests/test_grpo_trainer.py", "-q", "-p", "no:randomly"]
    command += ["-p", "no:cacheprovider", "-k", selection, f"--junitxml={report}"]
    with open(workdir / f"{trainer}.out", "w") as out:
        subprocess.run(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    return outcomes(report)


def outcomes(report: Path) -> dict[str, str]:
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname').split('.')[-1]}::{case.get('name')}"
        kinds = {child.tag for child in case}
        results[name] = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
    return results


def compare_logs(grpo: Path, murphy: Path) -> tuple[bool, list[str]]:
    """Whether every value GRPO logged at every step is the same in Murphy's log; the keys that differ."""
    expected, got = json.loads(grpo.read_text()), json.loads(murphy.read_text())
    if len(expected) != len(got):
        return False, [f"{len(expected)} vs {len(got)} log entries"]
    differing = set()
    for want, have in zip(expected, got, strict=True):
        differing |= {key for key, value in want.items() if key not in TIMING and have.get(key) != value}
    return not differing, sorted(differing)


def report(workdir: Path, grpo: dict[str, str], murphy: dict[str, str]) -> None:
    passing = sorted(name for name, outcome in grpo.items() if outcome == "passed")
    kept = [name for name in passing if murphy.get(name) == "passed"]
    print(f"GRPO passes {len(passing)} of {len(grpo)} selected tests; Murphy passes {len(kept)} of those.")
    for name in passing:
        if murphy.get(name) != "passed":
            print(f"  Murphy {murphy.get(name, 'not run')}: {name}")
    same, compared = 0, 0
    for name in kept:
        file = f"{name.replace('/', '_')}.json"  # as scratch_conftest.py names it
        logs = [workdir / f"logs-{trainer}" / file for trainer in ("grpo", "murphy")]
        if not all(log.exists() for log in logs):
            continue
        compared += 1
        identical, differing = compare_logs(*logs)
        same += identical
        if not identical:
            print(f"  logs differ in {name}: {', '.join(differing)}")
    print(
        f"Per-step logs: every value GRPO logged identical in Murphy's log in {same} of {compared} tests that trained."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trl_checkout", type=Path, help="a trl source checkout (tests/, scripts/)")
    parser.add_argument("workdir", type=Path, help="scratch folder outside this repository")
    parser.add_argument("-k", default=DEFAULT_SELECTION, help=f"pytest -k selection (default {DEFAULT_SELECTION})")
    parser.add_argument("--only", choices=("grpo", "murphy"), help="run one trainer (the other's results are read)")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    if REPOSITORY in (workdir, *workdir.parents):
        parser.error(f"WORKDIR must be outside this repository ({REPOSITORY}): trl's tests are not ours to keep here")
    prepare(args.trl_checkout.resolve(), workdir)
    results = {}
    for trainer in ("grpo", "murphy"):
        if args.only in (None, trainer):
            results[trainer] = run_suite(workdir, trainer, args.k)
        else:
            results[trainer] = outcomes(workdir / f"{trainer}.xml")
    report(workdir, results["grpo"], results["murphy"])
    return 0
