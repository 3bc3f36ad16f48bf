"""HumanEval evaluation machinery, the eval command, the rewards and the plugin hooks."""

from __future__ import annotations

import json
import math

import click
import pytest
from click.testing import CliRunner
from hfplug_code_exec import plugin
from hfplug_code_exec.cli import humaneval_command, write_report
from hfplug_code_exec.humaneval import evaluate, load_problems, pass_at_k, public_test_from_docstring
from hfplug_code_exec.rewards import unit_tests, unit_tests_all

import hfplug
from hfplug.errors import DatasetError

from .conftest import one_step_grpo_args

PROBLEMS = load_problems()
CANONICAL = {p["prompt"]: p["canonical_solution"] for p in PROBLEMS}


def stub_of(conversation) -> str:
    return conversation[0]["content"].split("\n\n", 1)[1]


def canonical_generator(conversations):
    return [f"```python\n{stub_of(c)}{CANONICAL[stub_of(c)]}\n```" for c in conversations]


def test_pass_at_k_matches_the_definition():
    assert pass_at_k(10, 0, 1) == 0.0 and pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    with pytest.raises(ValueError, match="pass@k"):
        pass_at_k(3, 4, 1)


def test_fake_generator_with_canonical_solutions_scores_one(pool, tmp_path):
    summary = write_report(
        PROBLEMS, canonical_generator, tmp_path, "canonical", samples=1, attempts=1, batch_size=64, workers=2
    )
    assert summary["pass@1"] == 1.0 and summary["iter@1"] == 1.0 and summary["problems"] == 164
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["pass@1"] == 1.0 and saved["infrastructure_errors"] == 0
    assert "| canonical | 164 | 1 | 100.0% | 100.0% |" in (tmp_path / "results.md").read_text()


def test_iter_k_uses_feedback_between_attempts(pool):
    seen = []

    def wrong_then_right(conversations):
        seen.extend(conversations)
        return ["    return None\n" if len(c) == 1 else stub_of(c) + CANONICAL[stub_of(c)] for c in conversations]

    problems = PROBLEMS[:6]
    summary = evaluate(problems, wrong_then_right, pool, attempts=3)
    assert summary["pass@1"] == 0.0 and summary["iter@1"] == 0.0 and summary["iter@2"] == 1.0
    assert summary["iter@3"] == 1.0
    second_turns = [c for c in seen if len(c) == 3]
    assert len(second_turns) == 6  # solved items are not re-prompted on attempt 3
    assert all(c[1]["content"] == "    return None\n" and "did not pass" in c[2]["content"] for c in second_turns)
    # feedback comes from public (docstring) tests only, never from the hidden test source
    for conversation, problem in zip(second_turns, problems, strict=True):
        assert problem["test"].strip() not in conversation[2]["content"]


def test_pass_at_k_with_several_samples(pool):
    calls = {"n": 0}

    def half_right(conversations):
        out = []
        for c in conversations:
            calls["n"] += 1
            out.append(stub_of(c) + CANONICAL[stub_of(c)] if calls["n"] % 2 else "    return None\n")
        return out

    summary = evaluate(PROBLEMS[:4], half_right, pool, samples=2, batch_size=8)
    assert summary["pass@1"] == pytest.approx(0.5) and summary["pass@2"] == pytest.approx(1.0)


def test_public_tests_come_from_docstring_examples():
    test = public_test_from_docstring(PROBLEMS[0]["prompt"], PROBLEMS[0]["entry_point"])
    assert test.startswith("def check(candidate):") and "has_close_elements([1.0, 2.0, 3.0], 0.5) == False" in test
    assert public_test_from_docstring('def f(x):\n    """No examples."""\n', "f") is None


def test_eval_command_runs_a_tiny_model(tiny_model, tiny_tokenizer, tmp_path):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    tiny_tokenizer.save_pretrained(model_dir)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        humaneval_command,
        [
            "--model",
            str(model_dir),
            "--limit",
            "3",
            "--attempts",
            "2",
            "--max-new-tokens",
            "4",
            "--workers",
            "1",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "results.json").read_text())
    assert summary["problems"] == 3 and summary["pass@1"] == 0.0 and "iter@2" in summary
    assert all(len(p["runs"][0]) == 2 for p in summary["per_problem"])  # two attempts each, all failed


def test_eval_command_rejects_bad_input(tmp_path):
    result = CliRunner().invoke(humaneval_command, ["--model", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "no model folder" in result.output
    result = CliRunner().invoke(humaneval_command, ["--model", str(tmp_path), "--samples", "2", "--temperature", "0"])
    assert result.exit_code != 0 and "temperature" in result.output


def test_rewards_follow_trl_signature(pool):
    problem = PROBLEMS[2]
    third = "    return 0.5\n"  # right for 3.5 only, of 3.5, 1.33 and 123.456
    kwargs = {
        "test": [problem["test"]] * 3,
        "entry_point": [problem["entry_point"]] * 3,
        "pool": pool,
        "completion_ids": [[1], [2], [3]],
    }
    completions = [
        [{"role": "assistant", "content": f"```python\n{problem['prompt']}{problem['canonical_solution']}```"}],
        [{"role": "assistant", "content": "no code"}],
        [{"role": "assistant", "content": third}],
    ]
    prompts = [[{"role": "user", "content": "solve"}]] * 3
    kwargs["code_prompt"] = [problem["prompt"]] * 3
    fractions = unit_tests(prompts, completions, **kwargs)
    assert fractions[0] == 1.0 and fractions[1] == 0.0 and 0.0 < fractions[2] < 1.0
    assert unit_tests_all(prompts, completions, **kwargs) == [1.0, 0.0, 0.0]
    with pytest.raises(DatasetError, match="no test column"):
        unit_tests(prompts, completions, entry_point=kwargs["entry_point"], pool=pool)


def test_plugin_registers_rewards_and_the_eval_group(isolated_plugins):
    isolated_plugins.register(plugin, name="code_exec")
    assert hfplug.load("reward", "unit_tests") is unit_tests
    assert hfplug.load("reward", "unit_tests_all") is unit_tests_all
    cli = click.Group("hfplug")
    plugin.hfplug_commands(cli)
    assert "humaneval" in cli.commands["eval"].commands
    other = click.Group("hfplug")
    existing = click.Group("eval")
    other.add_command(existing)
    plugin.hfplug_commands(other)
    assert other.commands["eval"] is existing and "humaneval" in existing.commands


def test_unit_tests_reward_in_a_trl_grpo_step(tiny_model, tiny_tokenizer, tmp_path, monkeypatch):
    import torch
    from datasets import Dataset
    from trl import GRPOTrainer

    torch.set_num_threads(1)
    monkeypatch.setenv("HFPLUG_CODE_EXEC_WORKERS", "2")
    seen = []

    def unit_tests_spy(prompts, completions, **columns):
        rewards = unit_tests(prompts, completions, **columns)  # the shared pool, as trl would use it
        seen.append(rewards)
        return rewards

    rows = [{"prompt": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]} for p in PROBLEMS[:2]]
    args = one_step_grpo_args(tmp_path)
    trainer = GRPOTrainer(
        model=tiny_model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tiny_tokenizer,
        reward_funcs=[unit_tests_spy],
    )
    trainer.train()
    assert seen and all(r == 0.0 for batch in seen for r in batch)  # random tokens pass nothing, but were run
