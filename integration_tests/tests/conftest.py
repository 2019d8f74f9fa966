"""Shared helpers for the server's own tests: real HTTP against the `convex_server` fixture."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests

from convex_local import LocalDeployment


class Api:
    """A keep-alive session against one deployment, authenticated with a given key."""

    def __init__(self, dep: LocalDeployment, key: str | None = None) -> None:
        self.dep = dep
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Convex {key}"

    def get(self, route: str, params: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        return self.session.get(self.dep.url + route, params=params, timeout=30, **kw)

    def post(self, route: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.dep.url + route, json=body, timeout=30, **kw)

    def put(self, route: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.session.put(self.dep.url + route, json=body, timeout=30, **kw)

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def api(convex_server: LocalDeployment) -> Iterator[Api]:
    a = Api(convex_server, convex_server.admin_key)
    yield a
    a.close()


@pytest.fixture
def ro_api(convex_server: LocalDeployment) -> Iterator[Api]:
    a = Api(convex_server, convex_server.read_only_key)
    yield a
    a.close()


def error(resp: requests.Response) -> tuple[int, str]:
    """(status, Convex error code) of an error response."""
    return resp.status_code, resp.json()["code"]


def all_snapshot_pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every list_snapshot page, passing back the same snapshot with each cursor."""
    pages = []
    resp = api.get("/api/list_snapshot", params)
    assert resp.status_code == 200, resp.text
    pages.append(resp.json())
    while pages[-1]["hasMore"]:
        page = pages[-1]
        resp = api.get("/api/list_snapshot", {**params, "snapshot": page["snapshot"], "cursor": page["cursor"]})
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        assert len(pages) < 10_000
    return pages
