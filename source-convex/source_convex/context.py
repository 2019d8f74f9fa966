"""What the phases of one read share: the page reader, the cadences, and checkpointing.

A checkpoint emits the state of every given stream whose state changed since it was last
emitted. It is only ever called after the records that state covers were yielded, which is
what makes a saved state safe to resume from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator

from airbyte_cdk.models import AirbyteMessage

from . import messages
from .cadence import Checkpointer, Progress
from .pages import PageReader
from .plan import StreamRun


@dataclass
class ReadContext:
    """Shared by the snapshot phase and the change-log walk of one read."""

    reader: PageReader
    logger: logging.Logger
    checkpointer: Checkpointer
    progress: Progress

    def checkpoint(self, runs: Iterable[StreamRun]) -> Iterator[AirbyteMessage]:
        """STATE messages for the streams whose state changed since they were last saved."""
        for run in runs:
            if run.state is not None and run.state != run.saved:
                run.saved = run.state
                yield messages.state(run.table, run.state)
