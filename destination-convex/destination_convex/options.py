"""The writer's tuning options, read from the connector config.

Connection fields (`deployment_url`, `access_key`, timeouts) belong to the shared client's
`ConnectionSettings`; this module reads only what shapes batching, parallelism, index waits
and the optional metadata fields. Every option has a default, so a 0.2.x config with just
the two connection fields keeps working unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convex_shared.config import read_flag, read_number

from .errors import ConfigurationError

MIB = 1024 * 1024


@dataclass(frozen=True)
class WriterOptions:
    """How the destination batches and sends records (all sizes in bytes, times in seconds)."""

    max_batch_bytes: int = 4 * MIB
    flush_interval_s: float = 15.0
    max_parallel_requests: int = 4
    index_ready_timeout_s: float = 3600.0
    store_airbyte_metadata: bool = False
    #: Bytes per second written to Convex, as Convex counts them (documents plus their log and
    #: index entries); 0 means no pacing. A deployment allows about 4 MiB/s in all, and the app's
    #: own mutations fail with TooManyWrites while the load takes it (the import never does), so
    #: the default leaves half of it to the app.
    write_rate_bytes_per_s: float = 2 * MIB

    @property
    def max_buffered_bytes(self) -> int:
        """Bytes all tables' open buffers may hold together before the biggest is sent.

        Without this bound a sync of many streams would keep a full batch per stream in memory.
        """
        return max(2 * self.max_batch_bytes, 8 * MIB)

    @property
    def max_in_flight_bytes(self) -> int:
        """Bytes of request bodies queued or being sent before reading input pauses."""
        return max(self.max_parallel_requests + 1, 3) * self.max_batch_bytes

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WriterOptions:
        """Read the options, applying defaults; raises ConfigurationError naming a bad field."""
        defaults = cls()
        batch_mib = _number(config, "max_batch_size_mib", defaults.max_batch_bytes / MIB, 0.01, 12)
        return cls(
            max_batch_bytes=int(batch_mib * MIB),
            flush_interval_s=_number(config, "flush_interval_seconds", defaults.flush_interval_s, 1, 3600),
            max_parallel_requests=int(
                _number(config, "max_parallel_requests", defaults.max_parallel_requests, 1, 16, integer=True)
            ),
            index_ready_timeout_s=_number(
                config, "index_ready_timeout_seconds", defaults.index_ready_timeout_s, 1, 86400
            ),
            store_airbyte_metadata=_flag(config, "store_airbyte_metadata", defaults.store_airbyte_metadata),
            write_rate_bytes_per_s=MIB
            * _number(config, "max_write_rate_mib_per_second", defaults.write_rate_bytes_per_s / MIB, 0, 1024),
        )


def _number(
    config: Mapping[str, Any], field: str, default: float, low: float, high: float, *, integer: bool = False
) -> float:
    return read_number(config, field, default, low, high, integer=integer, error=ConfigurationError)


def _flag(config: Mapping[str, Any], field: str, default: bool) -> bool:
    return read_flag(config, field, default, error=ConfigurationError)
