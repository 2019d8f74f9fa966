"""A local Convex-compatible deployment (streaming export and import HTTP API) for tests and demos."""

from .clock import Clock
from .deployment import LocalDeployment, TransactionHandle
from .faults import FaultRule, Faults
from .request_log import RequestLog, RequestLogEntry
from .settings import Settings

__all__ = [
    "Clock",
    "FaultRule",
    "Faults",
    "LocalDeployment",
    "RequestLog",
    "RequestLogEntry",
    "Settings",
    "TransactionHandle",
]
