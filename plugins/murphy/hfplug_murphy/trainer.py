"""``MurphyTrainer``: trl's GRPOTrainer with a feedback-conditioned rollout tree around generation.

Everything Murphy adds happens around trl's own generation call (``GRPOTrainer._generate``), so
the transformers path and the vLLM path (server or colocate) receive the refinement prompts
unchanged, and trl's loss (``_compute_loss``) trains on the rows Murphy builds: one row per kept
node, its prompt masked, its completion weighted by an advantage computed from propagated credit
within its sibling group. With ``max_turns=1`` the rows, the loss and the gradients are GRPO's.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from trl import GRPOTrainer
from trl.trainer.utils import shuffle_sequence_dict

from hfplug.errors import ConfigError, DatasetError
from hfplug_murphy.accounting import PREFIX, ComputeAccount, rollout_cost
from hfplug_murphy.batch import pad_nodes
from hfplug_murphy.chunks import chunk_rows, chunk_weights, process_share, weighted_chunk_losses
from hfplug_murphy.config import MurphyConfig
from hfplug_murphy.credit import assign_advantages, propagate_credit
from hfplug_murphy.grading import Items, NodeGrader, find_grader, require_grader
from hfplug_murphy.importance import importance_sampling_ratio
from hfplug_murphy.pruning import prune
from hfplug_murphy.refinement import refinement_prompt
from hfplug_murphy.rollout import Generation, TreeBudget, grow_trees
from hfplug_murphy.split import split_rows
from hfplug_murphy.tasks import TaskProbe, trees_from_inputs, validate_dataset
from hfplug_murphy.tree import Node, RolloutTree
from hfplug_murphy.trl_logs import flush_extra_logs, flush_metrics, log_completions, log_reward_metrics

ONE_TURN_ONLY = {
    "rollout_func": "a custom rollout replaces trl's generation, while every refinement turn is one more call of "
    "trl's generation on refinement prompts built from graded programs",
    "tools": "tool calls make each completion a conversation of its own, which a refinement prompt cannot "
    "continue from the grader's feedback",
    "environment_factory": "an environment keeps per-rollout state that refinement turns would have to fork",
}
"""trl features that work with ``max_turns=1`` (GRPO's own code runs) and cannot combine with rollout trees."""


class MurphyTrainer(GRPOTrainer):
    """Multi-turn GRPO for code: failed programs are re-prompted with their execution feedback.

    Takes everything ``GRPOTrainer`` takes. With ``max_turns=1`` it is GRPOTrainer (its own rollout,
    rewards, advantages and logs) plus Murphy's compute accounting. With ``max_turns > 1``
    ``reward_funcs`` must contain exactly one grading reward (a reward function with a ``grade``
    method, e.g. ``unit_tests`` from hfplug-code-exec), and may hold any other reward functions or
    reward models beside it (summed with ``reward_weights``, as in GRPO). A string that names a
    registered hfplug reward loads that reward; any other string is a reward model, as in trl.
    """

    _tag_names = ["trl", "grpo", "murphy", "hfplug", "hfplug-murphy"]
    _name = "Murphy"
    _paper = {
        "title": "Murphy: Multi-Turn GRPO for Self Correcting Code Generation",
        "id": "2511.07833",
        "citation": textwrap.dedent("""\
            @article{ekbote2025murphy,
                title        = {{Murphy: Multi-Turn GRPO for Self Correcting Code Generation}},
                author       = {Chanakya Ekbote and Vijay Lingam and Behrooz Omidvar-Tehrani and Jun Huan and
                                Sujay Sanghavi and Anoop Deoras and Stefano Soatto},
                year         = 2025,
                eprint       = {arXiv:2511.07833},
            }"""),
    }

    def __init__(
        self,
        model: Any,
        reward_funcs: Any = None,
        args: MurphyConfig | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        reward_processing_classes: Any = None,
        callbacks: Any = None,
        optimizers: tuple[Any, Any] = (None, None),
        peft_config: Any = None,
        **kwargs: Any,
    ) -> None:
        reward_funcs = resolve_reward_funcs(reward_funcs)
        if args is None:
            args = default_config(model, reward_funcs)
        if not isinstance(args, MurphyConfig):
            raise ConfigError(f"MurphyTrainer needs a MurphyConfig, got {type(args).__name__}.")
        self._tasks_validated = True
        if args.max_turns > 1:
            for name, reason in ONE_TURN_ONLY.items():
                if kwargs.get(name) is not None:
                    raise ConfigError(
                        f"{name} works with max_turns=1 only (then Murphy is trl's GRPO): {reason}. Got max_turns="
                        f"{args.max_turns}."
                    )
            grader_index = require_grader(reward_funcs, args.max_turns)
            check_dataset(train_dataset, "train_dataset")
            check_groups_fit_one_process(args)
            self._tasks_validated = validate_dataset(reward_funcs[grader_index], train_dataset)
        else:
            grader_index = find_grader(reward_funcs)
        if args.executor_workers is not None:
            os.environ.setdefault("HFPLUG_CODE_EXEC_WORKERS", str(args.executor_workers))
        super().__init__(
            model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            reward_processing_classes=reward_processing_classes,
            callbacks=callbacks,
            optimizers=optimizers,
            peft_config=peft_config,
            **kwargs,
        )
        self.grader_index = grader_index
        grader = None if grader_index is None else self.reward_funcs[grader_index]
        self.node_grader = None if grader is None else NodeGrader(grader, self._score_nodes, self.reward_weights)
        self.task_probe = None if self._tasks_validated else TaskProbe(grader)
        self.budget = TreeBudget(args.max_tree_nodes, args.max_tree_tokens, args.max_completion_length)
        self.compute = {"train": ComputeAccount(), "eval": ComputeAccount()}
        self._filler_prompt: Any = None
        self._filler_item: tuple[RolloutTree, Node] | None = None
        self._generated_tokens = 0
        self.last_rollout: list[RolloutTree] = []
        """The trees of the latest generation batch on this process (for inspection and tests; empty with one turn)."""

    # -- rollout ---------------------------------------------------------------------------------

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if self.args.max_turns == 1:
            return self._one_turn(inputs)
        mode = "train" if self.model.training else "eval"
        args = self.args
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        started = time.monotonic()
        trees = trees_from_inputs(inputs, group_size)
        executions = self.node_grader.executions + self.task_probe_executions()
        if self.task_probe is not None:
            self.task_probe(trees)
        self._filler_prompt = trees[0].task_prompt
        self._filler_item = None
        self.node_grader.reset()
        grow_trees(
            trees,
            generate=self._generate_nodes,
            grade=self.node_grader,
            make_prompt=self._refinement_prompt,
            group_size=group_size,
            max_turns=args.max_turns,
            budget=self.budget,
        )
        for tree in trees:
            propagate_credit(tree, args.credit)
        # Batch scaling divides by the deviation over the whole batch, every process's trees (as trl's GRPO).
        batch_credits = None
        if self.scale_rewards == "batch":
            batch_credits = self._gather_object([node.credit for tree in trees for node in tree.nodes])
        assign_advantages(trees, self.scale_rewards, batch_credits)
        for tree in trees:
            prune(tree, groups=args.inter_prune_groups, per_group=args.intra_prune_keep)
        nodes = [node for tree in trees for node in tree.nodes if node.trainable]
        self.last_rollout = trees
        executions = self.node_grader.executions + self.task_probe_executions() - executions
        cost = rollout_cost(trees, executions, time.monotonic() - started)
        self._log_cost(cost, mode)
        self._log_trees(trees, mode, batch_credits)
        return self._rows(nodes, mode)

    def task_probe_executions(self) -> int:
        return 0 if self.task_probe is None else self.task_probe.executions

    def _one_turn(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """GRPOTrainer's own rollout, scoring and logging; plus what it cost."""
        mode = "train" if self.model.training else "eval"
        started = time.monotonic()
        self._generated_tokens = 0
        output = super()._generate_and_score_completions(inputs)
        rows = len(inputs)
        cost = {
            "generated_tokens": self._generated_tokens,
            "executions": rows if self.grader_index is not None else 0,
            "tree_nodes": rows,
            "trained_nodes": rows,
            "refinement_groups": 0,
            "rollout_seconds": time.monotonic() - started,
        }
        self._log_cost(cost, mode)
        return output

    def _generate(self, prompts: list[Any]) -> Any:
        result = super()._generate(prompts)
        self._generated_tokens += sum(len(ids) for ids in result[1])
        return result

    def _generate_nodes(self, prompts: list[Any]) -> list[Generation]:
        """trl's generation (transformers or vLLM) on ``prompts``; processes pad to a common count."""
        wanted = len(prompts)
        if self.accelerator.num_processes > 1:
            counts = self.accelerator.gather(torch.tensor([wanted], device=self.accelerator.device))
            wanted = int(counts.max().item())
        if wanted == 0:
            return []
        # Every process must send the same number of prompts (vLLM server and TP gather them): fill with
        # copies of a task prompt, generated and dropped.
        filled = list(prompts) + [self._filler_prompt] * (wanted - len(prompts))
        prompt_ids, completion_ids, _, completions, logprobs, _, _, _ = self._generate(filled)
        return [
            Generation(
                prompt_ids=list(prompt_ids[i]),
                completion_ids=list(completion_ids[i]),
                completion=completions[i],
                logprobs=None if logprobs is None else list(logprobs[i]),
            )
            for i in range(len(prompts))
        ]

    def _refinement_prompt(self, tree: RolloutTree, node: Node) -> Any:
        return refinement_prompt(
            tree,
            node,
            template=self.args.refinement_template,
            context=self.args.refinement_context,
            tokenizer=self._tokenizer,
            max_feedback_tokens=self.args.max_feedback_tokens,
        )

    def _score_nodes(self, items: Items, grader_values: list[float | None]) -> torch.Tensor:
        """Rewards per function for ``items`` from trl's own reward computation (reward models, async
        functions, ``completion_ids``, ``trainer_state``, ``log_extra``, ``log_metric``, extra columns, its
        warning when every reward is None). The grading reward, already run by ``grade``, gives its values."""
        if items and self._filler_item is None:
            self._filler_item = items[0]
        count = len(items)
        wanted = count
        if self.accelerator.num_processes > 1:
            # trl gathers rewards over processes: each sends the same number of rows (fillers, dropped below).
            counts = self.accelerator.gather(torch.tensor([count], device=self.accelerator.device))
            wanted = int(counts.max().item())
            items = list(items) + [self._filler_item] * (wanted - count)
            grader_values = list(grader_values) + [0.0] * (wanted - count)
        if wanted == 0:
            return torch.zeros(0, len(self.reward_funcs))
        rows = [{"prompt": tree.task_prompt, **tree.columns} for tree, _ in items]
        prompts = [tree.task_prompt for tree, _ in items]
        completions = [node.completion for _, node in items]
        completion_ids = [list(node.completion_ids) for _, node in items]
        with self._grader_gives(grader_values):
            per_func = self._calculate_rewards(rows, prompts, completions, completion_ids)
        start = self.accelerator.process_index * wanted
        flush_extra_logs(self._pending_extra_logs, self._logs["extra"], count, self._gather_object)
        return per_func[start : start + count]

    @contextmanager
    def _grader_gives(self, values: list[float | None]) -> Iterator[None]:
        """While trl computes the rewards, the grading reward answers with the values its ``grade`` returned
        (each program is executed once)."""
        original = self.reward_funcs[self.grader_index]

        def graded(prompts: list[Any], completions: list[Any], **_: Any) -> list[float | None]:
            return list(values)

        self.reward_funcs[self.grader_index] = graded
        try:
            yield
        finally:
            self.reward_funcs[self.grader_index] = original

    @staticmethod
    def _gather_object(values: Any) -> Any:
        from accelerate.utils import gather_object

        return gather_object(values)

    # -- rows for trl's loss -----------------------------------------------------------------------

    def _rows(self, nodes: list[Node], mode: str) -> dict[str, Any]:
        """The padded batch trl's ``_compute_loss`` reads, built as GRPOTrainer builds it."""
        device = self.accelerator.device
        rows = max(len(nodes), self.args.steps_per_generation if mode == "train" else 1)
        if self.accelerator.num_processes > 1:
            # Trees give each process its own row count, but trl's loss gathers per-row statistics (equal shapes
            # on every process) and DDP and FSDP synchronise in every forward and backward pass of the loss's
            # chunks: every process trains on as many rows, the missing ones empty (no loss, no gradient).
            rows = int(self.accelerator.gather(torch.tensor([rows], device=device)).max())
        batch = pad_nodes(
            nodes,
            pad_token_id=self._tokenizer.pad_token_id,
            stop_token_ids=self.eos_token_ids,
            pad_to_multiple_of=self.pad_to_multiple_of,
            filler=rows - len(nodes),
        )
        prompt_ids, prompt_mask = batch.prompt_ids.to(device), batch.prompt_mask.to(device)
        completion_ids, completion_mask = batch.completion_ids.to(device), batch.completion_mask.to(device)
        if self.mask_truncated_completions:
            completion_mask = completion_mask * (~batch.is_truncated.to(device)).unsqueeze(1).int()
        num_items_in_batch = self.accelerator.gather(completion_mask.sum()).sum()
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        logits_to_keep = completion_ids.size(1)
        batch_size = self.args.per_device_train_batch_size if mode == "train" else self.args.per_device_eval_batch_size
        sampling = None if batch.sampling_logps is None else batch.sampling_logps.to(device)
        vllm_correction = self.use_vllm and self.vllm_importance_sampling_correction
        output: dict[str, Any] = {
            "prompt_ids": prompt_ids,
            "prompt_mask": prompt_mask,
            "completion_ids": completion_ids,
            "completion_mask": completion_mask,
            "advantages": batch.advantages.to(device),
            "num_items_in_batch": num_items_in_batch,
            "is_node": torch.arange(rows, device=device) < len(nodes),  # False: an empty padding row
        }
        from trl.models.utils import disable_gradient_checkpointing

        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            generate_every = self.args.steps_per_generation * self.num_iterations
            if self.args.gradient_accumulation_steps % generate_every != 0 or vllm_correction:
                old, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size
                )
                output["old_per_token_logps"] = old
                if vllm_correction:
                    output["importance_sampling_ratio"] = (
                        torch.ones_like(old)
                        if sampling is None
                        else importance_sampling_ratio(
                            old,
                            sampling,
                            completion_mask,
                            mode=self.vllm_importance_sampling_mode,
                            clip_min=self.vllm_importance_sampling_clip_min,
                            clip_max=self.vllm_importance_sampling_clip_max,
                        )
                    )
            if self.beta != 0.0:
                output["ref_per_token_logps"] = self._reference_logps(
                    input_ids, attention_mask, logits_to_keep, batch_size
                )
        if sampling is not None:
            output["sampling_per_token_logps"] = sampling
        return output

    def _reference_logps(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int, batch_size: int
    ) -> torch.Tensor:
        if self.ref_model is not None:
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.ref_model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size
            )
            return logps
        from trl.trainer.utils import use_adapter

        model = self.accelerator.unwrap_model(self.model)
        with use_adapter(model, adapter_name="ref" if "ref" in model.peft_config else None):
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size
            )
        return logps

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        # trl's loss over all of a step's rows in one pass would hold up to max_turns times GRPO's activations:
        # in training, chunks of max_rows_per_forward rows, each backpropagated before the next (chunks.py).
        limit = self.args.max_rows_per_forward
        if limit is None:
            limit = self.args.per_device_train_batch_size
        share = self._process_share(inputs)
        rows = inputs["completion_ids"].size(0)
        if not limit or rows <= limit or not torch.is_grad_enabled():
            return super()._compute_loss(model, inputs) * share
        chunks = chunk_rows(inputs, limit)
        return weighted_chunk_losses(
            chunks,
            [weight * share for weight in chunk_weights(self.loss_type, chunks)],
            loss_of=lambda chunk: super(MurphyTrainer, self)._compute_loss(model, chunk),
            backward=self.accelerator.backward,
        )

    def _process_share(self, inputs: dict[str, Any]) -> float:
        """This process's share of the loss over every process's tree rows (chunks.process_share); 1 on one
        process and for GRPO's own rows (``max_turns=1``), which are as many on every process."""
        if self.accelerator.num_processes == 1 or "is_node" not in inputs:
            return 1.0
        device = self.accelerator.device

        def total(count: float) -> float:
            return float(self.accelerator.reduce(torch.tensor(count, device=device), reduction="sum"))

        return process_share(self.loss_type, inputs, self.accelerator.num_processes, total)

    def _prepare_inputs(self, generation_batch: Any) -> dict[str, Any]:
        # As GRPOTrainer, but a tree's row count varies: split it into steps_per_generation parts
        # without dropping the remainder (trl's split assumes equal parts).
        if self.args.max_turns == 1:
            return super()._prepare_inputs(generation_batch)
        if not self.model.training:
            return self._generate_and_score_completions(generation_batch)
        generate_every = self.args.steps_per_generation * self.num_iterations
        if self._step % generate_every == 0 or self._buffered_inputs is None:
            rows = shuffle_sequence_dict(self._generate_and_score_completions(generation_batch))
            self._buffered_inputs = split_rows(rows, self.args.steps_per_generation)
        return self._buffered_inputs[self._step % self.args.steps_per_generation]

    # -- logging ---------------------------------------------------------------------------------

    def _log_cost(self, cost: dict[str, float], mode: str) -> None:
        """Murphy's compute accounting (per batch and running totals) into trl's metrics."""
        if self.accelerator.num_processes > 1:
            keys = sorted(cost)
            summed = self.accelerator.reduce(
                torch.tensor([float(cost[k]) for k in keys], device=self.accelerator.device), reduction="sum"
            )
            cost = dict(zip(keys, summed.tolist(), strict=True))
            cost["rollout_seconds"] /= self.accelerator.num_processes
        metrics = self._metrics[mode]
        for key, value in self.compute[mode].add(cost).items():
            if key.startswith(f"{PREFIX}total_") or key == f"{PREFIX}wall_seconds":
                metrics[key] = [float(value)]  # running totals: the latest value, not an average
            else:
                metrics[key].append(float(value))

    def _log_trees(self, trees: list[RolloutTree], mode: str, batch_credits: list[float | None] | None) -> None:
        """trl's reward metrics and completions table for a tree batch, and Murphy's quality metrics; each over the
        whole batch (every process's trees, as trl's)."""
        metrics = self._metrics[mode]
        gather = self._gather_object
        log_reward_metrics(
            metrics,
            self.reward_func_names,
            self.reward_weights,
            trees,
            self.scale_rewards,
            gather=gather,
            batch_credits=batch_credits,
        )
        device = self.accelerator.device
        flush_metrics(self._pending_metrics, metrics, gather, lambda t: self.accelerator.gather(t.to(device)).cpu())
        graded = gather([(n.depth, n.solved, n.reward, n.credit) for t in trees for n in t.nodes if n.scorable])
        first = [solved for depth, solved, _, _ in graded if depth == 1]
        if first:
            metrics[f"{PREFIX}solved_turn1"].append(sum(first) / len(first))
        if graded:
            metrics[f"{PREFIX}reward_all_turns"].append(sum(reward for _, _, reward, _ in graded) / len(graded))
            metrics[f"{PREFIX}credit_mean"].append(sum(credit for _, _, _, credit in graded) / len(graded))
        solved_tasks = gather([any(n.solved for n in t.nodes) for t in trees])
        metrics[f"{PREFIX}tasks_solved"].append(sum(solved_tasks) / len(solved_tasks))
        grader = self.node_grader
        log_completions(self._logs, self.reward_func_names, grader.order, calls=grader.calls, gather=gather)


def resolve_reward_funcs(reward_funcs: Any) -> list[Any]:
    """Registered hfplug reward names -> the reward objects; everything else as trl takes it (a string that is
    no registered reward is a reward model's Hub id or path, which trl loads)."""
    if reward_funcs is None:
        return []
    funcs = reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]
    if not any(isinstance(f, str) for f in funcs):
        return list(funcs)
    import hfplug

    registered = set(hfplug.names("reward"))
    return [hfplug.load("reward", f) if isinstance(f, str) and f in registered else f for f in funcs]


def default_config(model: Any, reward_funcs: list[Any]) -> MurphyConfig:
    """``args=None``: named after the model as trl names its default; two turns when a grading reward is given,
    otherwise one (GRPO), since refinement prompts need feedback."""
    from trl.trainer.utils import get_config_model_id

    name = model if isinstance(model, str) else get_config_model_id(model.config)
    turns = 2 if find_grader(reward_funcs) is not None else 1
    return MurphyConfig(f"{name.split('/')[-1]}-Murphy", max_turns=turns)


def check_dataset(dataset: Any, what: str) -> None:
    """A training set Murphy can read: a ``prompt`` column, no images, not empty."""
    if dataset is None:
        raise DatasetError(f"{what}: MurphyTrainer needs a training dataset with a 'prompt' column.")
    columns = list(getattr(dataset, "column_names", None) or [])
    if "prompt" not in columns:
        raise DatasetError(f"{what} needs a 'prompt' column (the task); it has: {', '.join(columns) or '(none)'}.")
    if {"image", "images"} & set(columns):
        raise DatasetError(f"{what}: MurphyTrainer trains on text tasks; image columns are not supported.")
    if hasattr(dataset, "__len__") and len(dataset) == 0:
        raise DatasetError(f"{what} is empty.")


def check_groups_fit_one_process(args: MurphyConfig) -> None:
    """Each sibling group must live on one process (trees are grown per process)."""
    per_process = args.per_device_train_batch_size * args.steps_per_generation
    if args.world_size > 1 and per_process % args.num_generations:
        raise ConfigError(
            f"per_device_train_batch_size * steps_per_generation = {per_process} is not a multiple of "
            f"num_generations = {args.num_generations}: with {args.world_size} processes a sibling group would be "
            "split across processes, and Murphy grows each task's tree on one process."
        )
