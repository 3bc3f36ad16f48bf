"""trl's vLLM path receives Murphy's refinement prompts (and its logprobs reach the loss).

The trainer is real and takes trl's own ``use_vllm`` branch of ``_generate_single_turn``; only the
engine object (``trainer.vllm_generation``, a vLLM client or colocated LLM in trl) is replaced by a
deterministic one with the same ``generate``/``sync_weights`` interface, since vLLM needs a GPU.
"""

from __future__ import annotations

import torch


class DeterministicEngine:
    """Answers like trl's VLLMGeneration.generate: (prompt_ids, completion_ids, logprobs, logprob_ids)."""

    def __init__(self, tokenizer, script, logprob: float = -1.5) -> None:
        self.tokenizer = tokenizer
        self.script = script
        self.logprob = logprob
        self.calls: list[tuple[list[str], int]] = []
        self.syncs = 0

    def sync_weights(self) -> None:
        self.syncs += 1

    def generate(self, prompts, images, num_generations, profiler=None):
        texts = [self.tokenizer.decode(ids) for ids in prompts]
        self.calls.append((texts, num_generations))
        eos = self.tokenizer.eos_token_id
        completions = [
            self.tokenizer(self.script(text, i % num_generations), add_special_tokens=False)["input_ids"] + [eos]
            for i, text in enumerate(texts)
        ]
        logprobs = [[[self.logprob] for _ in ids] for ids in completions]
        return prompts, completions, logprobs, None


def test_vllm_generation_receives_refinement_prompts(make_trainer, scripted):
    def script(text, k):
        if scripted.refine_mark in text:
            return scripted.answer_for(text) if k == 0 else f"still wrong {k}"
        return [scripted.answer_for(text), "half try", "wrong k2", "wrong k3"][k]

    trainer, _, _ = make_trainer(script)
    del trainer._generate_single_turn  # back to trl's own method, vLLM branch
    engine = DeterministicEngine(trainer.processing_class, script)
    trainer.use_vllm, trainer.vllm_generation, trainer._last_loaded_step = True, engine, -1
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1

    rows = trainer._generate_and_score_completions(scripted.inputs(scripted.rows(), 4))

    assert [g for _, g in engine.calls] == [4, 4] and engine.syncs == 1
    first, refinements = engine.calls[0][0], engine.calls[1][0]
    assert len(first) == 8 and not any(scripted.refine_mark in t for t in first)
    assert len(refinements) == 2 * 3 * 4  # 3 failures per task, 4 children each, repeated in a row
    for start in range(0, len(refinements), 4):
        group = refinements[start : start + 4]
        assert len(set(group)) == 1 and scripted.refine_mark in group[0]
    assert sum("half try" in t for t in refinements) == 2 * 4
    # The engine's logprobs reach the rows and trl's importance-sampling correction, then the loss.
    assert torch.all(rows["sampling_per_token_logps"][rows["completion_mask"].bool()] == -1.5)
    ratio = rows["importance_sampling_ratio"]  # the default mode is per sequence: (rows, 1)
    mask = rows["completion_mask"]
    log_ratio = ((rows["old_per_token_logps"] + 1.5) * mask).sum(dim=1, keepdim=True)
    clip = trainer.args.vllm_importance_sampling_clip_max
    assert trainer.args.vllm_importance_sampling_mode == "sequence_mask"
    assert torch.allclose(ratio, torch.exp(log_ratio).masked_fill(torch.exp(log_ratio) > clip, 0.0))
    loss = trainer.compute_loss(trainer.model, rows)
    assert torch.isfinite(loss)
    loss.backward()
