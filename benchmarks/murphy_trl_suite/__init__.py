"""trl's own GRPO tests against MurphyTrainer(max_turns=1): see run.py."""
