"""InfoPO vs DPO benchmark: a toy likelihood experiment, SmolLM2-135M on TruthfulQA-MC1 pairs, step time."""
