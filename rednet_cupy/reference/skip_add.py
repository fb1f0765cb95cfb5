"""skip_add: s = a + b, element-wise, for RED-Net's symmetric skip connections.

`a` is a decoder feature map, `b` the mirrored encoder feature map of the same shape.
The backward of a sum is a fork: ds flows unchanged to both a and b, so there is no
backward function; where a gradient reaches one array along two paths (the encoder
output that feeds both the next conv and a skip), the two are added with this same op.
"""

from __future__ import annotations

import numpy as np

from rednet_cupy import checks

OP = "skip_add"


def skip_add_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    checks.array(OP, "a", a, None)
    checks.array(OP, "b", b, a.ndim)
    checks.same_dtype(OP, a=a, b=b)
    # No broadcasting: a (N, C, H, W) plus b (C, 1, 1) would be a bug, not a skip.
    checks.same_shape(OP, "b", b, a.shape, "the shape of a")
    return a + b
