"""``MurphyConfig``: trl's ``GRPOConfig`` plus the rollout-tree, credit, pruning and feedback knobs."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from trl import GRPOConfig

from hfplug.errors import ConfigError
from hfplug.trainers.machine_defaults import MachineDefaults

CREDIT_CHOICES = ("max", "mean", "none")
REFINEMENT_CONTEXT_CHOICES = ("last", "full")
TEMPLATE_FIELDS = ("feedback", "code")

DEFAULT_REFINEMENT_TEMPLATE = (
    "Your code did not pass the tests. Feedback from running it:\n\n{feedback}\n\n"
    "Fix the program and answer with the whole corrected code."
)


@dataclass
class MurphyConfig(MachineDefaults, GRPOConfig):
    """Configuration for :class:`~hfplug_murphy.trainer.MurphyTrainer`.

    Every ``GRPOConfig`` field works as usual (``num_generations`` is G, the size of every sibling
    group, turn 1 and refinements alike). The fields below shape the feedback-conditioned rollout
    tree; the paper gives no code, so each default is marked [paper] or [ours] in the README.
    """

    max_turns: int = field(
        default=2,
        metadata={
            "help": "S, the number of turns: turn 1 samples G programs per task; every failed program of turn "
            "t < S is re-prompted with its execution feedback and gets G children. 1 is plain GRPO."
        },
    )
    credit: str = field(
        default="max",
        metadata={
            "help": "How a node's reward is propagated from its refinements, bottom-up, before any pruning: 'max' "
            "(MaRS: R~(n) = max(r(n), max over children R~(c))), 'mean' (MeRS: R~(n) = max(r(n), mean over "
            "children R~(c))) or 'none' (each node keeps its own reward)."
        },
    )
    refinement_template: str = field(
        default=DEFAULT_REFINEMENT_TEMPLATE,
        metadata={
            "help": "The user turn that follows a failed attempt. Must contain {feedback} (the grader's feedback "
            "from public tests, truncated to max_feedback_tokens); may contain {code} (the attempt itself, which "
            "chat prompts already show as the assistant turn). Literal braces are written {{ and }}."
        },
    )
    refinement_context: str = field(
        default="last",
        metadata={
            "help": "What a refinement prompt holds before the feedback: 'last' = the task and the failed attempt "
            "only; 'full' = the whole chain of earlier attempts and feedback that led to it (longer prompts)."
        },
    )
    max_feedback_tokens: int = field(
        default=256,
        metadata={"help": "Feedback longer than this many tokens is cut (and says so) before it enters a prompt."},
    )
    max_tree_nodes: int | None = field(
        default=None,
        metadata={
            "help": "Most nodes (generated programs) in one task's tree, turn 1 included; an expansion that would "
            "exceed it is skipped. Failed nodes are expanded highest reward first. None: no limit "
            "(G + G^2 + ... + G^S at worst). Must be at least num_generations."
        },
    )
    max_tree_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Most generated tokens in one task's tree. An expansion is made only if G more completions of "
            "max_completion_length tokens would still fit, so the budget holds whatever the model writes. None: "
            "no limit. Must be at least num_generations * max_completion_length."
        },
    )
    inter_prune_groups: int | None = field(
        default=None,
        metadata={
            "help": "InterP: per task, train only on the b sibling groups with the largest variance of R~ (ties: "
            "earlier turn first). None: keep every group."
        },
    )
    intra_prune_keep: int | None = field(
        default=None,
        metadata={
            "help": "IntraP: per sibling group, train only on this many members, alternately the highest and the "
            "lowest R~ (advantages are still computed on the whole group). None: keep all. At least 2."
        },
    )
    executor_workers: int | None = field(
        default=None,
        metadata={
            "help": "Size of the grading reward's executor pool (sets HFPLUG_CODE_EXEC_WORKERS for hfplug-code-exec "
            "when the pool has not started yet). None: the reward's default (2 x CPUs)."
        },
    )
    max_rows_per_forward: int | None = field(
        default=None,
        metadata={
            "help": "Tree rows per forward and backward pass in training. A step trains on one row per kept node, "
            "up to max_turns times GRPO's rows; they are processed in chunks of this size with their gradients "
            "accumulated, which gives the update of one pass over all rows. None: per_device_train_batch_size; "
            "0: all rows in one pass. Refinement rows are longer than GRPO's (task, attempt and feedback), so a "
            "pass of N rows holds more tokens than GRPO's: lower this, or turn on activation_checkpointing, when "
            "memory is short."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_murphy_fields(self)


def template_fields(template: str) -> list[str]:
    """The placeholder names in ``template`` (raises ConfigError when it is not a valid format string)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise ConfigError(f"MurphyConfig.refinement_template is not a valid format string: {error}.") from None


def check_refinement_template(template: str) -> None:
    """Raise :class:`ConfigError` unless ``template`` has {feedback} and no unknown placeholder."""
    names = template_fields(template)
    unknown = sorted({n for n in names if n not in TEMPLATE_FIELDS})
    if unknown:
        raise ConfigError(
            f"MurphyConfig.refinement_template has unknown placeholder(s) {unknown}; allowed: {{feedback}} "
            "(required) and {code}. Write literal braces as {{ and }}."
        )
    if "feedback" not in names:
        raise ConfigError(
            "MurphyConfig.refinement_template has no {feedback} placeholder: a refinement prompt without the "
            "execution feedback is just a resample. Add {feedback} where the feedback should go."
        )


def check_murphy_fields(config: MurphyConfig) -> None:
    """Raise :class:`ConfigError` naming the first Murphy field whose value cannot be used."""
    group = config.num_generations
    if config.max_turns < 1:
        raise ConfigError(f"MurphyConfig.max_turns must be at least 1 (1 = plain GRPO), got {config.max_turns}.")
    if config.credit not in CREDIT_CHOICES:
        raise ConfigError(f"MurphyConfig.credit must be one of {CREDIT_CHOICES}, got {config.credit!r}.")
    if config.refinement_context not in REFINEMENT_CONTEXT_CHOICES:
        raise ConfigError(
            f"MurphyConfig.refinement_context must be one of {REFINEMENT_CONTEXT_CHOICES}, "
            f"got {config.refinement_context!r}."
        )
    check_refinement_template(config.refinement_template)
    if config.max_feedback_tokens < 1:
        raise ConfigError(f"MurphyConfig.max_feedback_tokens must be at least 1, got {config.max_feedback_tokens}.")
    if config.max_tree_nodes is not None and config.max_tree_nodes < group:
        raise ConfigError(
            f"MurphyConfig.max_tree_nodes={config.max_tree_nodes} is smaller than one sibling group "
            f"(num_generations={group}): not even turn 1 fits."
        )
    if config.max_tree_tokens is not None:
        if config.max_completion_length is None:
            raise ConfigError("MurphyConfig.max_tree_tokens needs max_completion_length to bound each completion.")
        one_group = group * config.max_completion_length
        if config.max_tree_tokens < one_group:
            raise ConfigError(
                f"MurphyConfig.max_tree_tokens={config.max_tree_tokens} is smaller than one sibling group "
                f"(num_generations * max_completion_length = {one_group}): not even turn 1 fits."
            )
    if config.inter_prune_groups is not None and config.inter_prune_groups < 1:
        raise ConfigError(
            f"MurphyConfig.inter_prune_groups must be at least 1 sibling group (or None), "
            f"got {config.inter_prune_groups}."
        )
    if config.intra_prune_keep is not None and config.intra_prune_keep < 2:
        raise ConfigError(
            f"MurphyConfig.intra_prune_keep must be at least 2 (a highest and a lowest member; or None), "
            f"got {config.intra_prune_keep}."
        )
    if config.max_rows_per_forward is not None and config.max_rows_per_forward < 0:
        raise ConfigError(
            f"MurphyConfig.max_rows_per_forward must be 0 (all rows at once), a positive row count or None, "
            f"got {config.max_rows_per_forward}."
        )
    if config.executor_workers is not None and config.executor_workers < 1:
        raise ConfigError(f"MurphyConfig.executor_workers must be at least 1 (or None), got {config.executor_workers}.")
    if config.max_turns == 1:
        if config.intra_prune_keep is not None:
            raise ConfigError(
                "MurphyConfig.intra_prune_keep needs max_turns >= 2: with one turn Murphy is trl's GRPO, which trains "
                "on every sample; IntraP would drop rows of the only sibling group."
            )
    elif config.multi_objective_aggregation != "sum_then_normalize":
        raise ConfigError(
            f"MurphyConfig.multi_objective_aggregation={config.multi_objective_aggregation!r} needs max_turns=1: "
            "with refinement turns Murphy propagates one summed reward per node through the tree before normalising "
            "within sibling groups ('sum_then_normalize'); per-function normalisation has no tree equivalent."
        )
