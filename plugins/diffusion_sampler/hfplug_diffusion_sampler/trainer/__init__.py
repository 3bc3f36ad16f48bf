"""Distilling the ADJUST sampler from a frozen masked diffusion LM: teacher rollouts, the KL objective,
and the ``joint_sampler`` trainer."""
