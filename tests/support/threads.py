"""Running test jobs from several threads that start at one barrier: the same event at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(jobs: list[Callable[[], object]], *, threads: int | None = None,
             timeout: float = 60) -> list[object]:
    """Run ``jobs`` from ``threads`` threads (one per job by default) that start at one barrier.

    Returns each job's result in order; a job that raised has its exception there instead."""
    count = threads or len(jobs)
    barrier = threading.Barrier(count)
    results: list[object] = [None] * len(jobs)

    def worker(slot: int) -> None:
        barrier.wait()
        for n in range(slot, len(jobs), count):
            try:
                results[n] = jobs[n]()
            except Exception as exc:  # noqa: BLE001 - returned to the test, which asserts on it
                results[n] = exc

    pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout)
    return results


def failures(results: list[object]) -> list[BaseException]:
    """The exceptions among ``together``'s results."""
    return [r for r in results if isinstance(r, BaseException)]
