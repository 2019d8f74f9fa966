"""`python -m convex_local serve ...` (see convex_local.cli)."""

import sys

from .cli import main

sys.exit(main())
