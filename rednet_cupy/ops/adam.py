"""adam on kernels/adam.cu: one fused in-place update."""

from __future__ import annotations

from rednet_cupy.ops.device import KernelDevice, blocks_for
from rednet_cupy.reference import adam as ref

OP = "adam"


def adam_step(dev: KernelDevice, param, grad, m, v, step: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
    dev.check(OP, param=param, grad=grad, m=m, v=v)
    ref.check(param, grad, m, v, step, lr, beta1, beta2, eps, xp=None)
    # Bias corrections in double precision on the host, once per step (see the kernel).
    c1, c2 = 1.0 - beta1**step, 1.0 - beta2**step
    dev.launch(OP, "adam_step", (blocks_for(param.size),), (256,),
               (param, grad, m, v, param.size, lr, beta1, beta2, eps, c1, c2))
