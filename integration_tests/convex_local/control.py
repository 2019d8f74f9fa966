"""Out-of-process control of a running deployment: `/_local/...` routes and ControlClient.

Routes need the admin key (`Authorization: Convex <key>`). Document values travel in Convex's
internal JSON (int64 as {"$integer": ...}, bytes as {"$bytes": ...}), so every type survives.
These routes bypass faults, latency and the request log.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .errors import ApiError, internal_error
from .values import _decode_hook, to_encoded

if TYPE_CHECKING:
    from .deployment import LocalDeployment

Response = tuple[int, dict[str, str], bytes]


def decode_value(obj: Any) -> Any:
    """Internal JSON (already parsed) back to Python values; a bare number is a float64."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, float)):
        return float(obj)
    if isinstance(obj, list):
        return [decode_value(x) for x in obj]
    decoded = _decode_hook(obj)
    if decoded is not obj:
        return decoded
    return {k: decode_value(v) for k, v in obj.items()}


def _ok(payload: Any) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode("utf-8")


class ControlRoutes:
    def __init__(self, deployment: "LocalDeployment") -> None:
        self._dep = deployment

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes, headers: Any) -> Response:
        try:
            identity = self._dep.keys.identify(headers.get("Authorization"), None)
            if identity.kind != "admin":
                raise ApiError(403, "OperationNotPermitted", "Control routes need the admin key.")
            args: dict[str, Any] = dict(query)
            if body:
                try:
                    parsed = json.loads(body)
                except ValueError as e:
                    raise ApiError(400, "BadJsonBody", f"Bad JSON: {e}") from None
                if not isinstance(parsed, dict):
                    raise ApiError(400, "BadJsonBody", "Expected a JSON object")
                args.update(parsed)
            handler = getattr(self, "_" + path[len("/_local/"):].strip("/").replace("/", "_") + "_" + method.lower(), None)
            if handler is None:
                raise ApiError(404, "NotFound", f"No control route {method} {path}")
            return _ok(handler(args))
        except ApiError as e:
            return e.status, {"Content-Type": "application/json"}, e.body()
        except (KeyError, TypeError, ValueError) as e:
            err = ApiError(400, "BadControlRequest", f"{type(e).__name__}: {e}")
            return 400, {"Content-Type": "application/json"}, err.body()
        except Exception:
            return 500, {"Content-Type": "application/json"}, internal_error().body()

    # -- the app -------------------------------------------------------------------------------
    def _app_mutation_post(self, a: dict) -> Any:
        """What an app's mutation doing one `db.insert` meets: the write-throughput check first
        (retried up to 4 times with backoff, as the mutation runner does), then the insert."""
        return {"_id": self._dep.app_mutation_insert(a["table"], decode_value(a["document"]))}

    # -- seeding --------------------------------------------------------------------------------
    def _create_table_post(self, a: dict) -> Any:
        self._dep.create_table(a["name"], a.get("component", ""))
        return None

    def _delete_table_post(self, a: dict) -> Any:
        self._dep.delete_table(a["name"], a.get("component", ""))
        return None

    def _clear_table_post(self, a: dict) -> Any:
        self._dep.clear_table(a["name"], a.get("component", ""))
        return None

    def _insert_post(self, a: dict) -> Any:
        return {"id": self._dep.insert(a["table"], decode_value(a["value"]), a.get("component", ""))}

    def _transaction_post(self, a: dict) -> Any:
        inserted: list[str] = []
        with self._dep.transaction() as tx:
            for op in a["ops"]:
                kind = op["op"]
                doc_id = inserted[op["ref"]] if "ref" in op else op.get("id")
                if kind == "insert":
                    inserted.append(tx.insert(op["table"], decode_value(op["value"]), op.get("component", "")))
                elif kind == "replace":
                    tx.replace(doc_id, decode_value(op["value"]))
                elif kind == "patch":
                    tx.patch(doc_id, decode_value(op["value"]))
                elif kind == "delete":
                    tx.delete(doc_id)
                else:
                    raise ValueError(f"unknown op {kind!r}")
            ts = tx.ts
        return {"ids": inserted, "ts": ts}

    def _generate_post(self, a: dict) -> Any:
        ids = self._dep.generate(a["table"], int(a["n"]), int(a.get("seed", 0)), a.get("component", ""))
        return {"ids": ids}

    def _documents_get(self, a: dict) -> Any:
        docs = self._dep.documents(a["table"], a.get("component", ""))
        return {"documents": [to_encoded(d) for d in docs]}

    def _table_names_get(self, a: dict) -> Any:
        return {"tables": self._dep.table_names(a.get("component"))}

    # -- faults, clock, log, settings -------------------------------------------------------------
    def _faults_post(self, a: dict) -> Any:
        allowed = {"route", "kind", "rate", "count", "seed", "retry_after_s", "slow_s", "when"}
        self._dep.faults.inject(**{k: v for k, v in a.items() if k in allowed})
        return None

    def _faults_delete(self, a: dict) -> Any:
        self._dep.faults.clear()
        return None

    def _clock_get(self, a: dict) -> Any:
        return {"now_ns": self._dep.clock.now_ns()}

    def _clock_post(self, a: dict) -> Any:
        clock = self._dep.clock
        if "set" in a:
            clock.set(int(a["set"]))
        if "advance" in a:
            clock.advance(int(a["advance"]))
        if a.get("follow_wall_time"):
            clock.follow_wall_time()
        return {"now_ns": clock.now_ns()}

    def _request_log_get(self, a: dict) -> Any:
        return {"entries": [dataclasses.asdict(e) for e in self._dep.request_log.entries(a.get("route"))]}

    def _request_log_delete(self, a: dict) -> Any:
        self._dep.request_log.clear()
        return None

    def _settings_get(self, a: dict) -> Any:
        return dataclasses.asdict(self._dep.settings)

    def _settings_post(self, a: dict) -> Any:
        fields = {f.name for f in dataclasses.fields(self._dep.settings)}
        for k, v in a.items():
            if k not in fields:
                raise ValueError(f"unknown setting {k!r}")
            setattr(self._dep.settings, k, v)
        return dataclasses.asdict(self._dep.settings)

    def _functions_post(self, a: dict) -> Any:
        from .function_library import register

        return register(self._dep, a)


class ControlClient:
    """Seeding, faults, clock and request log of a deployment running in another process."""

    def __init__(self, url: str, admin_key: str, timeout_s: float = 60.0) -> None:
        import requests

        self._url = url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Convex {admin_key}"
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"ControlClient(url={self._url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self._url}/_local/{route}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        resp = self._session.request(method, url, json=body, timeout=self._timeout)
        if resp.status_code != 200:
            raise RuntimeError(f"control {method} {route} failed: {resp.status_code} {resp.text[:500]}")
        return resp.json()

    # seeding
    def app_mutation(self, table: str, document: dict[str, Any]) -> tuple[int, Any]:
        """An app's one-insert mutation: (status, body); 429 TooManyWrites when writes are too fast."""
        resp = self._session.post(f"{self._url}/_local/app_mutation",
                                  json={"table": table, "document": to_encoded(document)}, timeout=self._timeout)
        return resp.status_code, resp.json()

    def create_table(self, name: str, component: str = "") -> None:
        self._call("POST", "create_table", {"name": name, "component": component})

    def delete_table(self, name: str, component: str = "") -> None:
        self._call("POST", "delete_table", {"name": name, "component": component})

    def clear_table(self, name: str, component: str = "") -> None:
        self._call("POST", "clear_table", {"name": name, "component": component})

    def insert(self, table: str, value: dict[str, Any], component: str = "") -> str:
        return self._call("POST", "insert", {"table": table, "value": to_encoded(value), "component": component})["id"]

    def transaction(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Ops: {"op": "insert", "table", "value", "component"?} | {"op": "replace"|"patch", "id"|"ref", "value"}
        | {"op": "delete", "id"|"ref"}; "ref" is the index of an earlier insert. Returns {"ids", "ts"}."""
        encoded = [{**op, **({"value": to_encoded(op["value"])} if "value" in op else {})} for op in ops]
        return self._call("POST", "transaction", {"ops": encoded})

    def generate(self, table: str, n: int, seed: int = 0, component: str = "") -> list[str]:
        return self._call("POST", "generate", {"table": table, "n": n, "seed": seed, "component": component})["ids"]

    def documents(self, table: str, component: str = "") -> list[dict[str, Any]]:
        docs = self._call("GET", "documents", query={"table": table, "component": component})["documents"]
        return [decode_value(d) for d in docs]

    def table_names(self, component: str | None = None) -> list[str]:
        return self._call("GET", "table_names", query={"component": component})["tables"]

    # faults
    def inject_fault(self, route: str = "*", kind: str = "500", rate: float = 1.0, count: int | None = None,
                     seed: int = 0, retry_after_s: float = 1.0, slow_s: float = 2.0, when: str = "before") -> None:
        self._call("POST", "faults", {"route": route, "kind": kind, "rate": rate, "count": count, "seed": seed,
                                      "retry_after_s": retry_after_s, "slow_s": slow_s, "when": when})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    # clock
    def now_ns(self) -> int:
        return self._call("GET", "clock")["now_ns"]

    def set_clock(self, ns: int) -> int:
        return self._call("POST", "clock", {"set": ns})["now_ns"]

    def advance_clock(self, ns: int) -> int:
        return self._call("POST", "clock", {"advance": ns})["now_ns"]

    def follow_wall_time(self) -> int:
        return self._call("POST", "clock", {"follow_wall_time": True})["now_ns"]

    # request log and settings
    def request_log(self, route: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "request_log", query={"route": route})["entries"]

    def clear_request_log(self) -> None:
        self._call("DELETE", "request_log")

    def settings(self) -> dict[str, Any]:
        return self._call("GET", "settings")

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "settings", changes)

    # functions (see function_library.register for the specs)
    def register_function(self, **spec: Any) -> dict[str, Any]:
        return self._call("POST", "functions", spec)


class AppWriter:
    """An app writing while something else loads data: one small mutation every `interval_s`
    on its own thread, counting the ones refused with 429 TooManyWrites. Use as a context manager."""

    def __init__(self, url: str, admin_key: str, table: str = "app_events", interval_s: float = 0.1) -> None:
        import threading

        self._control = ControlClient(url, admin_key)
        self._table = table
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="app-writer", daemon=True)
        self.tried = 0
        self.failed = 0

    def __enter__(self) -> "AppWriter":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)
        self._control.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            status, _ = self._control.app_mutation(self._table, {"note": "the app writes"})
            self.tried += 1
            self.failed += status == 429
            self._stop.wait(self._interval_s)
