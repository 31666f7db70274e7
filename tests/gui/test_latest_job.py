"""LatestJob: the one idiom for background generators; superseding, cancelling and stopping."""

from __future__ import annotations

import threading

from pneumo_desktop.gui.latest_job import LatestJob


def slow_numbers(release: threading.Event, n: int = 1000):
    """Yields 0, 1, … waiting for ``release`` before every item after the first."""
    for i in range(n):
        yield i
        release.wait(5)


def test_a_newer_run_supersedes_and_only_its_items_arrive(qtbot):
    job = LatestJob()
    items: list = []
    job.yielded.connect(items.append)
    cancelled: list = []
    job.cancelled.connect(lambda: cancelled.append(1))
    hold = threading.Event()
    with qtbot.waitSignal(job.yielded, timeout=5000):
        job.start(lambda: slow_numbers(hold))
    with qtbot.waitSignal(job.done, timeout=5000):
        job.start(lambda: iter(["a", "b"]))
        hold.set()
    assert items[-2:] == ["a", "b"] and "a" not in items[:-2]
    qtbot.waitUntil(lambda: not job.threads_running(), timeout=5000)
    assert cancelled == []  # superseding is not cancelling
    job.stop()


def test_cancel_ends_with_cancelled_once_the_thread_has_stopped(qtbot):
    job = LatestJob()
    hold = threading.Event()
    with qtbot.waitSignal(job.yielded, timeout=5000):
        job.start(lambda: slow_numbers(hold))
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
        assert not job.is_busy()
        hold.set()
    assert not job.threads_running()
    job.cancel()  # nothing runs: no second signal
    with qtbot.assertNotEmitted(job.cancelled, wait=100):
        pass


def test_failure_arrives_as_message_and_stop_waits(qtbot):
    def broken():
        yield 1
        raise ValueError("bad input")

    job = LatestJob()
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        job.start(broken)
    assert blocker.args[0] == "bad input" and "ValueError" in blocker.args[1]
    assert job.stop()
    assert not job.threads_running()


def burst_then_wait(produced: threading.Event, hold: threading.Event):
    """Yields 0-3 at once, then says so and waits for ``hold``."""
    yield from range(4)
    produced.set()
    hold.wait(5)
    yield 4


def _cancel_after_burst(qtbot, keep_arrived: bool) -> list:
    job = LatestJob()
    items: list = []
    job.yielded.connect(items.append)
    produced, hold = threading.Event(), threading.Event()
    job.start(lambda: burst_then_wait(produced, hold))
    assert produced.wait(5)  # the four items are queued for this (GUI) thread, not yet delivered
    assert items == []
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel(keep_arrived=keep_arrived)
        hold.set()
    job.stop()
    return items


def test_cancel_keeping_arrived_items_delivers_what_the_worker_had_computed(qtbot):
    assert _cancel_after_burst(qtbot, keep_arrived=True) == [0, 1, 2, 3]


def test_plain_cancel_drops_items_still_on_their_way(qtbot):
    assert _cancel_after_burst(qtbot, keep_arrived=False) == []
