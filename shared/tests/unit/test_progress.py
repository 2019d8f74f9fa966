"""The progress-line gate both connectors log through."""

from __future__ import annotations

from convex_shared.progress import ProgressTimer


def test_progress_timer_spaces_lines_and_reports_the_interval() -> None:
    now = [100.0]
    timer = ProgressTimer(10.0, clock=lambda: now[0])
    now[0] = 105.0
    assert timer.due() is None
    now[0] = 112.0
    assert timer.due() == 12.0  # since the start
    now[0] = 115.0
    assert timer.due() is None  # the interval restarted at 112
    now[0] = 130.0
    assert timer.due() == 18.0 and timer.elapsed_s() == 30.0
    assert ProgressTimer(10.0, clock=lambda: 0.0, at_once=True).due() == 0.0
