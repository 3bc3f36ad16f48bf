"""Murphy vs GRPO at equal generated tokens on offline code tasks.

Run ``python -m benchmarks.murphy_compute --quick``."""
