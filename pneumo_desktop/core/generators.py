"""Two small helpers for the core's progress generators (long work that yields as it goes and
returns its result through ``StopIteration``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

Item = TypeVar("Item")
Event = TypeVar("Event")
Result = TypeVar("Result")


def drive(steps: Generator[Item, None, Result], on_item: Callable[[Item], None] | None = None) -> Result:
    """Run ``steps`` to the end, passing each yielded item to ``on_item``; return its result."""
    while True:
        try:
            item = next(steps)
        except StopIteration as finished:
            return finished.value
        if on_item is not None:
            on_item(item)


def relay(steps: Generator[Item, None, Result], wrap: Callable[[Item], Event]) -> Generator[Event, None, Result]:
    """Yield ``wrap(item)`` for each item of ``steps`` and return its result, for ``yield from``.

    Closing the outer generator closes ``steps`` too (``yield from`` forwards the close).
    """
    while True:
        try:
            item = next(steps)
        except StopIteration as finished:
            return finished.value
        try:
            yield wrap(item)
        except GeneratorExit:
            steps.close()
            raise
