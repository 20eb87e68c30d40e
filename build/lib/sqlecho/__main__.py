"""``python -m sqlecho``: see :mod:`sqlecho._cli`."""

import sys

from ._cli import main

sys.exit(main())
