"""The forgetting benchmark: domain gain vs general-ability loss for SFT, LoRA, TALR, FLOW and the
context-free mix on SmolLM2-135M-Instruct, fully offline. Run ``python -m benchmarks.forgetting --quick``."""
