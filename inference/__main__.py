"""``python -m inference``: the ``inference`` command."""

import sys

from inference.cli import main

sys.exit(main())
