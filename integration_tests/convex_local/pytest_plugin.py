"""pytest fixtures that start local Convex-compatible deployments on 127.0.0.1 (ephemeral ports).

- `convex_server`: a started, empty, in-memory LocalDeployment, stopped after the test.
- `convex_server_factory`: call it (same arguments as LocalDeployment) to start more.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .deployment import LocalDeployment


@pytest.fixture
def convex_server_factory() -> Iterator[Callable[..., LocalDeployment]]:
    started: list[LocalDeployment] = []

    def start(**kwargs: Any) -> LocalDeployment:
        dep = LocalDeployment(**kwargs)
        dep.start("127.0.0.1", 0)
        started.append(dep)
        return dep

    yield start
    for dep in reversed(started):
        dep.stop()


@pytest.fixture
def convex_server(convex_server_factory: Callable[..., LocalDeployment]) -> LocalDeployment:
    return convex_server_factory()
