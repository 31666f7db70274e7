"""Tests for pneumo_desktop.core.generators: driving and relaying progress generators."""

from __future__ import annotations

from pneumo_desktop.core.generators import drive, relay


def _counting(n: int, log: list):
    try:
        for i in range(n):
            yield i
        return f"done {n}"
    finally:
        log.append("closed")


def test_drive_returns_the_result_and_passes_every_item():
    seen, log = [], []
    assert drive(_counting(3, log), seen.append) == "done 3"
    assert seen == [0, 1, 2] and log == ["closed"]
    assert drive(_counting(2, log)) == "done 2"


def test_relay_wraps_items_returns_the_result_and_forwards_a_close():
    log = []

    def outer():
        result = yield from relay(_counting(4, log), lambda i: ("event", i))
        yield ("result", result)

    assert list(outer()) == [("event", 0), ("event", 1), ("event", 2), ("event", 3), ("result", "done 4")]
    log.clear()
    gen = outer()
    assert next(gen) == ("event", 0)
    gen.close()
    assert log == ["closed"], "closing the outer generator must close the inner one at once"
