"""The bench harness is a script's package (integration_tests/bench/convex_bench), not an installed one."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
