"""The NumPy reference: the definition of what every RED-Net op computes.

`rednet_cupy.ops.get("cpu")` is this namespace. Naive loop versions of conv2d and deconv2d
(`*_naive`) sit beside the vectorised ones that the device uses.
"""

from rednet_cupy.reference.adam import adam_step
from rednet_cupy.reference.conv2d import (
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
    conv2d_relu_forward,
    flip_weights,
)
from rednet_cupy.reference.deconv2d import (
    deconv2d_backward,
    deconv2d_forward,
    deconv2d_forward_naive,
    deconv2d_relu_forward,
)
from rednet_cupy.reference.mse_loss import mse_loss_backward, mse_loss_forward
from rednet_cupy.reference.precision import round_to
from rednet_cupy.reference.relu import relu_backward, relu_forward
from rednet_cupy.reference.skip_add import skip_add_forward

__all__ = [
    "adam_step",
    "conv2d_backward",
    "conv2d_backward_naive",
    "conv2d_forward",
    "conv2d_forward_naive",
    "conv2d_relu_forward",
    "deconv2d_backward",
    "deconv2d_forward",
    "deconv2d_forward_naive",
    "deconv2d_relu_forward",
    "flip_weights",
    "mse_loss_backward",
    "mse_loss_forward",
    "relu_backward",
    "relu_forward",
    "round_to",
    "skip_add_forward",
]
