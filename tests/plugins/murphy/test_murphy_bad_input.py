"""Bad input fails clearly, naming the problem, before anything is generated or written."""

from __future__ import annotations

import pytest
from hfplug_murphy.config import MurphyConfig
from hfplug_murphy.trainer import MurphyTrainer
from trl import GRPOConfig

from hfplug.config import parse_train_config
from hfplug.errors import ConfigError, DatasetError
from hfplug.testing import fast_cpu_config


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"refinement_template": "Try again."}, r"no \{feedback\} placeholder"),
        ({"refinement_template": "{feedback} {hidden_test}"}, r"unknown placeholder.*hidden_test"),
        ({"refinement_template": "{feedback"}, r"not a valid format string"),
        ({"max_tree_nodes": 3}, r"max_tree_nodes=3 is smaller than one sibling group"),
        ({"max_tree_tokens": 4 * 16 - 1}, r"max_tree_tokens=63 is smaller than one sibling group"),
        ({"inter_prune_groups": 0}, r"inter_prune_groups must be at least 1"),
        ({"intra_prune_keep": 1}, r"intra_prune_keep must be at least 2"),
        ({"credit": "sum"}, r"credit must be one of"),
        ({"max_turns": 0}, r"max_turns must be at least 1"),
        ({"refinement_context": "siblings"}, r"refinement_context must be one of"),
        ({"max_feedback_tokens": 0}, r"max_feedback_tokens must be at least 1"),
        ({"multi_objective_aggregation": "normalize_then_sum"}, r"sum_then_normalize"),
    ],
)
def test_config_values_that_cannot_work_are_refused(murphy_args, fields, message):
    with pytest.raises(ConfigError, match=message):
        murphy_args(**fields)


def test_the_template_check_runs_from_a_config_file_before_any_model_loads(tmp_path, scripted_rewards):
    config = tmp_path / "run.yaml"
    config.write_text(
        "trainer: murphy\nmodel_name_or_path: /nonexistent/model\ndataset: /nonexistent/data.jsonl\n"
        "reward_funcs: [scripted]\nrefinement_template: 'Please try again.'\nuse_cpu: true\n"
        f"output_dir: {tmp_path / 'out'}\n"
    )
    with pytest.raises(ConfigError, match=r"no \{feedback\} placeholder"):
        parse_train_config(config)


def test_rewards_without_feedback_are_refused(tiny_model, tiny_tokenizer, murphy_args, scripted):
    def plain(prompts, completions, **columns):
        return [0.0] * len(completions)

    for rewards, message in [
        ([plain], r"with max_turns=2 .*needs a reward that also returns feedback.*plain"),
        ([], r"with max_turns=2 .*needs a reward that also returns feedback"),
        ([scripted.Grader("a"), scripted.Grader("b")], r"one grading reward, got 2"),
    ]:
        with pytest.raises(ConfigError, match=message):
            MurphyTrainer(tiny_model, rewards, args=murphy_args(), train_dataset=scripted.rows())


def test_wrong_config_class_and_unsupported_arguments_are_refused(tmp_path, tiny_model, scripted, murphy_args):
    with pytest.raises(ConfigError, match="needs a MurphyConfig, got GRPOConfig"):
        grpo_args = fast_cpu_config(GRPOConfig, tmp_path / "g", num_generations=4, per_device_train_batch_size=8)
        MurphyTrainer(tiny_model, [scripted.Grader()], args=grpo_args, train_dataset=scripted.rows())
    with pytest.raises(ConfigError, match="rollout_func works with max_turns=1 only"):
        MurphyTrainer(
            tiny_model, [scripted.Grader()], args=murphy_args(), train_dataset=scripted.rows(), rollout_func=print
        )
    with pytest.raises(ConfigError, match="intra_prune_keep needs max_turns >= 2"):
        murphy_args(max_turns=1, intra_prune_keep=2)


def test_a_dataset_without_prompts_is_refused(tiny_model, murphy_args, scripted):
    rows = scripted.rows().rename_column("prompt", "question")
    with pytest.raises(DatasetError, match=r"needs a 'prompt' column.*question"):
        MurphyTrainer(tiny_model, [scripted.Grader()], args=murphy_args(), train_dataset=rows)


def test_tasks_without_tests_or_with_an_unrunnable_format_fail_when_the_trainer_is_built(
    tiny_model, murphy_args, scripted
):
    no_tests = scripted.rows().map(lambda row, i: {"answer": "" if i == 1 else row["answer"]}, with_indices=True)
    with pytest.raises(DatasetError, match=r"training row 1 \('Write neg\.'\).*'scripted'.*no tests"):
        MurphyTrainer(tiny_model, [scripted.Grader()], args=murphy_args(), train_dataset=no_tests)
    stdio = scripted.rows(test_format=["exact", "stdio"])
    with pytest.raises(DatasetError, match=r"training row 1.*test format 'stdio' cannot be run"):
        MurphyTrainer(tiny_model, [scripted.Grader()], args=murphy_args(), train_dataset=stdio)


def test_without_validate_a_bad_task_fails_before_its_batch_is_generated(make_trainer, scripted, tmp_path):
    stdio = scripted.rows(test_format=["exact", "stdio"])
    grader = scripted.Grader("no_validate", with_validate=False)
    trainer, policy, _ = make_trainer(lambda text, k: "x", dataset=stdio, grader=grader)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "earlier.txt").write_text("keep me")
    with pytest.raises(DatasetError, match=r"task 'Write neg\.'.*'no_validate'.*test format 'stdio'"):
        trainer.train()
    assert policy.prompts == []  # nothing was generated
    assert (out / "earlier.txt").read_text() == "keep me"


def test_a_good_task_is_probed_once_and_then_trains(make_trainer, scripted):
    grader = scripted.Grader("no_validate", with_validate=False)
    trainer, policy, _ = make_trainer(lambda text, k: scripted.answer_for(text), grader=grader, max_steps=2)
    trainer.train()
    probes = [call for call in grader.calls if call == ["", ""]]
    assert len(probes) == 1 and len(policy.prompts) == 2
    assert trainer.state.log_history[0]["murphy/executions"] == 8 + 2  # 8 completions + 2 probes


def test_murphy_config_is_a_grpo_config(murphy_args):
    config = murphy_args()
    assert isinstance(config, MurphyConfig) and isinstance(config, GRPOConfig)
    assert (config.max_turns, config.credit, config.refinement_context) == (2, "max", "last")
