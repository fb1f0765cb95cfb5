"""`python -m rednet_cupy ...` is the `rednet` command (useful from a checkout that is not
installed, with the checkout on PYTHONPATH)."""

import sys

from rednet_cupy.cli import main

sys.exit(main())
