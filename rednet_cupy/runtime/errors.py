"""The runtime's exceptions.

`KernelError` is about the kernel source or its build (unsupported parameter type, compile
error, a failed emulated launch); `LaunchError` is about one call's arguments, and subclasses
ValueError because a wrong argument is what it is.
"""


class KernelError(RuntimeError):
    """A kernel could not be parsed, built, loaded or run."""


class CompilerNotFound(KernelError):
    """The emulator needs a C++17 compiler with OpenMP and none was found."""


class LaunchError(ValueError):
    """A launch's grid, block, shared memory or arguments do not fit the kernel."""
