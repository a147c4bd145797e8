"""Lanes of threads: a bounded number of requests at once, minus those waiting idle."""

from __future__ import annotations

import threading
import time

import pytest

from broker.serving.lanes import CONTROL, HEALTH, OSB, Lane, lane_for


@pytest.mark.parametrize(
    ("path", "lane"),
    [
        (b"/livez", HEALTH),
        (b"/readyz", HEALTH),
        (b"/admin/faults", CONTROL),
        (b"/admin", CONTROL),
        (b"/dashboard", CONTROL),
        (b"/metrics", CONTROL),
        (b"/openapi.json", CONTROL),
        (b"/v2/catalog", OSB),
        (b"/livez/more", OSB),
        (b"/", OSB),
    ],
)
def test_the_lane_is_chosen_by_path(path: bytes, lane: str) -> None:
    assert lane_for(path) == lane


class Probe:
    """Tasks that record how many run at once and block until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.done = 0
        self.release = threading.Event()

    def task(self, lane: Lane | None = None) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if lane is None:
                self.release.wait(10)
            else:
                with lane.waiting():
                    self.release.wait(10)
        finally:
            with self.lock:
                self.running -= 1
                self.done += 1


def settle(condition: object, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_lane_runs_at_most_its_size_at_once() -> None:
    lane = Lane("test", size=3, max_waiting=0)
    probe = Probe()
    for _ in range(10):
        lane.submit(probe.task)
    settle(lambda: probe.running == 3)
    time.sleep(0.1)
    assert probe.most == 3 and lane.busy == 10
    probe.release.set()
    settle(lambda: probe.done == 10)
    lane.stop()


def test_requests_waiting_idle_leave_their_place_to_the_next() -> None:
    lane = Lane("test", size=2, max_waiting=5)
    waiting, quick = Probe(), Probe()
    for _ in range(5):
        lane.submit(lambda: waiting.task(lane))
    settle(lambda: waiting.running == 5)
    done = threading.Event()
    lane.submit(done.set)
    assert done.wait(5), "a free place was not used while five requests waited"
    for _ in range(4):
        lane.submit(quick.task)
    settle(lambda: quick.running == 2)
    time.sleep(0.1)
    assert quick.most == 2  # the waiting ones take no place
    waiting.release.set()
    quick.release.set()
    settle(lambda: waiting.done == 5 and quick.done == 4)
    lane.stop()


def test_beyond_max_waiting_a_request_keeps_its_place() -> None:
    lane = Lane("test", size=1, max_waiting=1)
    waiting = Probe()
    lane.submit(lambda: waiting.task(lane))
    lane.submit(lambda: waiting.task(lane))
    settle(lambda: waiting.running == 2)
    done = threading.Event()
    lane.submit(done.set)
    assert not done.wait(0.3), "a third request ran: the second one gave up a place it kept"
    waiting.release.set()
    assert done.wait(5)
    lane.stop()
