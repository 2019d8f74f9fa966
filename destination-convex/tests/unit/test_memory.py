"""The allocator setting is applied on glibc Linux and is a harmless no-op elsewhere."""

import sys

from destination_convex.memory import pin_mmap_threshold


def test_pin_mmap_threshold() -> None:
    applied = pin_mmap_threshold()
    assert isinstance(applied, bool)
    if not sys.platform.startswith("linux"):
        assert applied is False
    # Big buffers still work afterwards (served by mmap).
    assert len(b"x" * (8 * 1024 * 1024)) == 8 * 1024 * 1024
