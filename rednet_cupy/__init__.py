"""RED-Net (Mao, Shen, Yang, NIPS 2016) from hand-written CUDA kernels.

Every operation exists three times under one name: a NumPy reference in
`rednet_cupy.reference`, a CUDA C kernel in `kernels/<op>.cu`, and a wrapper in
`rednet_cupy.ops`. `rednet_cupy.ops.get(device)` returns the namespace of one device.
"""

__version__ = "0.1.0"
