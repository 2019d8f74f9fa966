"""The write pacer spaces requests by their write bytes at the configured rate."""

from destination_convex.pacing import WritePacer


def test_requests_start_no_faster_than_the_rate() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    pacer = WritePacer(1000.0, clock=lambda: now[0], sleep=sleep)
    pacer.acquire(500)  # the first goes at once
    pacer.acquire(500)  # waits for the first one's half second
    pacer.acquire(1000)
    assert waits == [0.5, 1.0]
    now[0] = 200.0  # after a quiet spell no debt is carried
    pacer.acquire(1000)
    assert waits == [0.5, 1.0] and pacer.max_request_bytes == 500
