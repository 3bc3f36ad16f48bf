"""Deterministic stand-ins for Murphy's tests: a grading reward and a scripted policy.

* ``ScriptedGrader`` is a GradingReward (``hfplug.feedback``) that executes nothing: a completion
  solves its task when its text equals the row's ``answer``; the feedback quotes the row's
  PUBLIC test (``public_test``) and never its hidden one (``hidden_test``, a marker string that
  must never reach a prompt). "INFRA" in a completion plays an infrastructure failure (None).
* ``ScriptedPolicy`` replaces trl's generation function (``GRPOTrainer._generate_single_turn``)
  on a real trainer: it decodes each prompt and answers from a script, so trees are known in
  advance while everything around generation is the real code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
from datasets import Dataset
from hfplug_murphy.tree import RolloutTree

import hfplug
from hfplug.feedback import GradedCompletion
from hfplug.testing import fast_cpu_config

torch.set_num_threads(1)

REFINE_MARK = "Feedback from running it"
"""Appears in every refinement prompt of the default template: how the policy tells turns apart."""


def text_of(completion: Any) -> str:
    return completion if isinstance(completion, str) else "".join(m["content"] for m in completion)


class ScriptedGrader:
    """Exact-match grading with public-only feedback (no code runs)."""

    def __init__(self, name: str = "scripted", *, with_validate: bool = True) -> None:
        self.__name__ = name
        self.calls: list[list[str]] = []
        self.prompts: list[Any] = []
        if not with_validate:
            self.validate = None

    def grade(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[GradedCompletion]:
        for needed in ("answer", "public_test"):
            if needed not in columns:
                raise ValueError(f"the scripted grader needs a {needed!r} column")
        texts = [text_of(c).strip() for c in completions]
        self.calls.append(texts)
        self.prompts.extend(prompts)
        graded = []
        formats = columns.get("test_format", [None] * len(texts))
        for text, answer, public, fmt in zip(texts, columns["answer"], columns["public_test"], formats, strict=True):
            if not answer or fmt not in (None, "exact"):
                raise ValueError(f"cannot run test format {fmt!r}" if answer else "the row has no tests")
            if "INFRA" in text:
                graded.append(GradedCompletion(None, False, ""))
            elif text == answer:
                graded.append(GradedCompletion(1.0, True, "All tests passed.", True))
            else:
                reward = 0.5 if text.startswith("half") else 0.0
                graded.append(GradedCompletion(reward, False, f"Public test {public} failed: got {text!r}.", False))
        return graded

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        return [g.reward for g in self.grade(prompts, completions, **columns)]

    def validate(self, prompts: list[Any], **columns: Any) -> None:
        if "answer" not in columns:
            raise ValueError("the tasks have no tests (no 'answer' column)")
        for i, (answer, fmt) in enumerate(
            zip(columns["answer"], columns.get("test_format", [None] * len(prompts)), strict=True)
        ):
            if not answer:
                raise ValueError(f"row {i} has no tests")
            if fmt not in (None, "exact"):
                raise ValueError(f"test format {fmt!r} cannot be run (only 'exact')")


Script = Callable[[str, int], str]
"""(decoded prompt, position in its sibling group) -> completion text."""


class ScriptedPolicy:
    """A stand-in for ``_generate_single_turn``: answers each decoded prompt from a script."""

    def __init__(self, tokenizer: Any, script: Script) -> None:
        self.tokenizer = tokenizer
        self.script = script
        self.prompts: list[list[str]] = []

    def __call__(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        texts = [self.tokenizer.decode(ids) for ids in prompt_ids]
        self.prompts.append(texts)
        eos = self.tokenizer.eos_token_id
        completions = [
            self.tokenizer(self.script(text, i % num_generations), add_special_tokens=False)["input_ids"] + [eos]
            for i, text in enumerate(texts)
        ]
        return completions, None


TASKS = [
    {"name": "add", "answer": "return a + b", "public_test": "add(1, 2) == 3", "hidden_test": "HIDDEN-add-7-8"},
    {"name": "neg", "answer": "return -x", "public_test": "neg(4) == -4", "hidden_test": "HIDDEN-neg-9"},
]


def task_rows(chat: bool = True, **extra_columns: list[Any]) -> Dataset:
    """The TASKS as a dataset: chat or plain prompts, answer, public_test, hidden_test."""
    prompts = [[{"role": "user", "content": f"Write {t['name']}."}] if chat else f"Write {t['name']}.\n" for t in TASKS]
    columns = {key: [t[key] for t in TASKS] for key in ("answer", "public_test", "hidden_test")}
    return Dataset.from_dict({"prompt": prompts, **columns, **extra_columns})


def answer_for(prompt_text: str) -> str:
    return next(t["answer"] for t in TASKS if f"Write {t['name']}." in prompt_text)


FAST_FIELDS = {
    "num_generations": 4,
    "per_device_train_batch_size": 8,
    "max_completion_length": 16,
    "learning_rate": 1e-2,
    "shuffle_dataset": False,
}
"""G=4, both tasks in one step: the fields every trainer of these tests uses (GRPO's too, when compared)."""


@pytest.fixture
def grpo_args(tmp_path):
    """``grpo_args(**overrides)`` -> trl's GRPOConfig with the fields ``murphy_args`` uses, under tmp_path."""
    from trl import GRPOConfig

    return lambda **overrides: fast_cpu_config(GRPOConfig, tmp_path / "grpo", **{**FAST_FIELDS, **overrides})


@pytest.fixture
def murphy_args(tmp_path):
    """``murphy_args(**overrides)`` -> a fast CPU MurphyConfig (G=4, 2 tasks per step) under tmp_path."""
    from hfplug_murphy.config import MurphyConfig

    def make(**overrides: Any) -> MurphyConfig:
        return fast_cpu_config(MurphyConfig, tmp_path / "out", **{**FAST_FIELDS, **overrides})

    return make


@pytest.fixture
def make_trainer(tiny_model_dir, tiny_tokenizer, murphy_args):
    """``make_trainer(script, dataset=None, grader=None, **config)`` -> (trainer, policy, grader)."""
    from hfplug_murphy.trainer import MurphyTrainer

    def make(script: Script, dataset: Dataset | None = None, grader: Any = None, **config: Any):
        grader = grader or ScriptedGrader()
        trainer = MurphyTrainer(
            str(tiny_model_dir),
            reward_funcs=[grader],
            args=murphy_args(**config),
            train_dataset=dataset if dataset is not None else task_rows(),
            processing_class=tiny_tokenizer,
        )
        policy = ScriptedPolicy(tiny_tokenizer, script)
        trainer._generate_single_turn = policy
        return trainer, policy, grader

    return make


def batch_inputs(dataset: Dataset, group_size: int) -> list[dict[str, Any]]:
    """trl's generation batch: every row repeated ``group_size`` times in a row."""
    return [dict(row) for row in dataset for _ in range(group_size)]


@pytest.fixture
def scripted():
    """The helpers above, for tests (conftest modules are not importable under importlib mode)."""

    class Helpers:
        Grader = ScriptedGrader
        Policy = ScriptedPolicy
        tasks = TASKS
        rows = staticmethod(task_rows)
        answer_for = staticmethod(answer_for)
        inputs = staticmethod(batch_inputs)
        refine_mark = REFINE_MARK
        text = staticmethod(text_of)

    return Helpers


# -- trees for the credit, advantage and pruning property tests ------------------------------------


def tree_from(rewards: list, group_size: int) -> RolloutTree:
    """A tree from nested lists: ``[r1, (r2, [children rewards]), ...]``; a tuple's list is that node's
    refinement group. ``None`` is an ungraded node; 1.0 counts as solved."""
    tree = RolloutTree(task_prompt="task", columns={})
    _add_group(tree, None, 1, rewards, group_size)
    return tree


def _add_group(tree: RolloutTree, parent: int | None, depth: int, spec: list, group_size: int) -> None:
    if len(spec) != group_size:
        raise ValueError(f"a group needs {group_size} members, got {spec}")
    group = tree.add_group(parent, depth)
    pending = []
    for item in spec:
        reward, children = item if isinstance(item, tuple) else (item, None)
        node = tree.add_node(group, prompt="p", prompt_ids=[1], completion_ids=[2], completion=f"c{len(tree.nodes)}")
        node.reward, node.solved = reward, reward == 1.0
        if children is not None:
            pending.append((node.index, children))
    for index, children in pending:
        _add_group(tree, index, depth + 1, children, group_size)


def random_tree(rng: random.Random, group_size: int, max_turns: int, p_none: float = 0.1) -> RolloutTree:
    """A tree grown like Murphy grows one: failed graded nodes are expanded with some probability."""
    tree = RolloutTree(task_prompt="task", columns={})
    frontier: list[int | None] = [None]
    for depth in range(1, max_turns + 1):
        next_frontier = []
        for parent in frontier:
            group = tree.add_group(parent, depth)
            for _ in range(group_size):
                node = tree.add_node(
                    group, prompt="p", prompt_ids=[1], completion_ids=[2] * rng.randint(1, 5), completion="c"
                )
                node.reward = None if rng.random() < p_none else rng.choice([0.0, 0.25, 0.5, 1.0, rng.random()])
                node.solved = node.reward == 1.0
                if node.reward is not None and not node.solved and rng.random() < 0.6:
                    next_frontier.append(node.index)
        frontier = next_frontier
    return tree


@pytest.fixture
def trees():
    """``trees.tree_from(spec, group_size)`` and ``trees.random_tree(rng, group_size, max_turns)``."""

    class Trees:
        tree_from = staticmethod(tree_from)
        random_tree = staticmethod(random_tree)

    return Trees


SCRIPTED_GRADER = ScriptedGrader()
PROBED_GRADER = ScriptedGrader("scripted_probe", with_validate=False)


def scores_only(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
    """A plain reward function (no feedback): not enough for Murphy on its own."""
    return [float(len(text_of(c)) < 20) for c in completions]


class ScriptedRewardsPlugin:
    """Registers the stand-ins by name, as a reward plugin would."""

    @hfplug.hookimpl
    def hfplug_register(self, registry: Any) -> None:
        here = "tests.plugins.murphy.conftest"
        registry.reward("scripted", f"{here}:SCRIPTED_GRADER", summary="exact match, public feedback")
        registry.reward("scripted_probe", f"{here}:PROBED_GRADER", summary="the same without validate()")
        registry.reward("short_answer", f"{here}:scores_only", summary="1 for a short answer")


@pytest.fixture
def scripted_rewards(isolated_plugins):
    """The plugin manager with the murphy trainer and the scripted rewards registered."""
    from importlib.metadata import version

    import hfplug_murphy.plugin

    from hfplug.manager import PluginInfo

    info = PluginInfo(name="murphy", distribution="hfplug-murphy", version=version("hfplug-murphy"))
    isolated_plugins.register(hfplug_murphy.plugin, name="murphy", info=info)
    isolated_plugins.register(ScriptedRewardsPlugin(), name="scripted-rewards")
    return isolated_plugins
