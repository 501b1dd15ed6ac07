"""Floating-point mode of the process: subnormal numbers flushed to zero on the CPU.

LCP's penalty on input gradients (||d log pi / d s||^2) shrinks the first-layer weights of inputs the policy
does not use geometrically, until they are subnormal (|x| < 1.18e-38 in float32; no shipped AMP/ADD/ASE model,
whose discriminators carry a gradient penalty too, has any). MKL's matrix kernels then run an order of
magnitude slower: a G1 LCP run at iteration 1110 had 15 % of its first-layer weights subnormal and trained at
9.2 s per iteration instead of 2.9. Flushing them to zero changes values below 1.18e-38 only.
"""
from __future__ import annotations

import torch


def flush_subnormals() -> None:
    """Treat subnormal floats as zero in this thread and in every thread it starts afterwards.

    Call it first in a process, before torch or MuJoCo start their thread pools: a pool's threads take the
    mode of the thread that created them, and later calls do not reach them.
    """
    torch.set_flush_denormal(True)
