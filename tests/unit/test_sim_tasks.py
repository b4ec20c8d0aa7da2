"""The simulation's Cloud Tasks: a task runs at its schedule time, a name is refused twice, a
failure the queue retries runs again with backoff, many at one moment."""

import heapq
from datetime import UTC, datetime, timedelta

import pytest

from marketsim.tasks import SimTasks

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Busy(Exception):
    pass


def world():
    heap: list = []
    clock = {"now": T0}
    tasks = SimTasks(
        lambda at, key, action: heapq.heappush(heap, (at, key, action)), lambda: clock["now"]
    )

    def run_all() -> list[datetime]:
        ran = []
        while heap:
            at, _, action = heapq.heappop(heap)
            clock["now"] = at
            ran.append(at)
            action()
        return ran

    return tasks, run_all


def test_a_task_runs_at_its_time_and_a_name_is_refused_twice():
    tasks, run_all = world()
    seen = []
    tasks.handle("q", lambda p: seen.append(p["n"]))
    assert tasks.enqueue("q", {"n": 1}, task_id="a", schedule_time=T0 + timedelta(minutes=5))
    assert not tasks.enqueue("q", {"n": 2}, task_id="a")
    assert tasks.enqueue("q", {"n": 3})
    assert run_all() == [T0, T0 + timedelta(minutes=5)]
    assert seen == [3, 1]


def test_failures_at_one_moment_are_retried_with_backoff_without_colliding():
    tasks, run_all = world()
    attempts: dict[int, int] = {}

    def flaky(payload):
        attempts[payload["n"]] = attempts.get(payload["n"], 0) + 1
        if attempts[payload["n"]] < 3:
            raise Busy

    tasks.handle("q", flaky, Busy)
    for n in range(3):
        tasks.enqueue("q", {"n": n})
    ran = run_all()
    assert attempts == {0: 3, 1: 3, 2: 3}
    assert ran == [T0] * 3 + [T0 + timedelta(seconds=10)] * 3 + [T0 + timedelta(seconds=30)] * 3


def test_an_unexpected_failure_ends_the_run():
    tasks, run_all = world()
    tasks.handle("q", lambda p: 1 / 0, Busy)
    tasks.enqueue("q", {})
    with pytest.raises(ZeroDivisionError):
        run_all()
