"""ADJUST joint sampling for masked diffusion LMs (arXiv:2509.22738) as a transformers ``custom_generate``
strategy: K tokens per step from one full pass of the base model plus K-1 passes of a trained one-layer
sampler that conditions each token on those already drawn in the step.

    model.generate(input_ids, custom_generate="path/or/hub-repo", trust_remote_code=True,
                   sampler="me/dream-joint-sampler", tokens_per_step=4, max_new_tokens=128, do_sample=True)
"""

from __future__ import annotations

from typing import Any

from .generation_call import run_diffusion_generation


def generate(model: Any, tokens_per_step: int = 4, sampler: Any = None, **arguments: Any) -> Any:
    """Fill ``max_new_tokens`` masked positions after the prompt, ``tokens_per_step`` per step.

    ``sampler``: a trained ``JointSampler`` (object, folder or Hub id); not needed when
    ``tokens_per_step=1``, which is plain one-token-per-pass sampling and never calls it.
    ``block_length``: fill the new tokens in left-to-right blocks of this size (LLaDA); None: one block.
    ``position_choice``: confidence | margin | entropy | random | left_to_right (order fixed before sampling).
    ``shift_logits``: None detects Dream (logits at i predict token i + 1) from ``config.model_type``.
    ``mask_token_id``: None reads it from the generation config, the model config or ``tokenizer=``.
    Returns the sequences, or with ``return_dict_in_generate=True`` an output with ``diffusion_stats``.
    """
    return run_diffusion_generation(model, arguments, mode="joint", tokens_per_step=tokens_per_step, sampler=sampler)
