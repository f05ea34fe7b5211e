"""The worker processes an import checks its chunks in (exports.processes): real subprocesses, answers in
order, answers made here only until a worker answers, a handler's error and a dead worker reported, and
no process left behind."""

from __future__ import annotations

import os
import signal
import time

import pytest

from exports.processes import WorkerFailed, WorkerLost, WorkerProcesses


class Echo:
    """A handler for the tests' workers: ``(tag, pid, task)``; "fail" raises, "die" exits, a float sleeps."""

    def __init__(self, tag: str):
        self.tag = tag

    def __call__(self, task):
        if task == "fail":
            raise ValueError("a task this handler refuses")
        if task == "die":
            os._exit(3)
        if isinstance(task, float):
            time.sleep(task)
        return self.tag, os.getpid(), task


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_workers_answer_every_task_in_order_from_processes_of_their_own():
    with WorkerProcesses(2, Echo, "w") as workers:
        pids = workers.pids
        answers = list(workers.map(range(25)))
        again = list(workers.map(["x", "y"]))  # a second map on the same workers
    assert [task for _, _, task in answers] == list(range(25))
    assert {tag for tag, _, _ in answers} == {"w"}
    assert {pid for _, pid, _ in answers} <= set(pids) and os.getpid() not in pids and len(set(pids)) == 2
    assert [task for _, _, task in again] == ["x", "y"]
    assert all(gone(pid) for pid in pids)


def test_tasks_are_answered_here_only_while_no_worker_is_ready_and_order_is_kept():
    here_answered = []

    def here(task):
        here_answered.append(task)
        return "here", os.getpid(), task

    with WorkerProcesses(1, Echo, "w") as workers:
        answers = list(workers.map(range(12), here, here_at_most=3))
        more = list(workers.map(range(3), here))  # the worker is ready now: nothing more here
    assert [task for _, _, task in answers] == list(range(12)) and [task for _, _, task in more] == [0, 1, 2]
    # The worker takes a second or more to start: meanwhile this process answered the first tasks, as many as
    # it may, and the worker all the others.
    assert here_answered == [0, 1, 2]
    assert [tag for tag, _, _ in answers] == ["here"] * 3 + ["w"] * 9 and {tag for tag, _, _ in more} == {"w"}


def test_a_worker_whose_handler_cannot_be_made_fails_the_map():
    with pytest.raises(WorkerFailed, match="TypeError"):
        with WorkerProcesses(1, Echo) as workers:  # Echo() without its tag
            list(workers.map([1]))


def test_a_handler_that_raises_fails_the_map_with_its_traceback():
    with pytest.raises(WorkerFailed, match="ValueError: a task this handler refuses"):
        with WorkerProcesses(2, Echo, "w") as workers:
            list(workers.map(["fine", "fail", "never"]))


def test_a_worker_that_exits_ends_the_map_and_the_others_are_stopped():
    with pytest.raises(WorkerLost, match="exit status 3") as lost:
        with WorkerProcesses(2, Echo, "w") as workers:
            pids = workers.pids
            list(workers.map([0.0, "die", 0.0, 0.0]))
    assert lost.value.returncode == 3
    assert all(gone(pid) for pid in pids)


def test_a_worker_killed_while_it_works_ends_the_map_naming_the_signal():
    with WorkerProcesses(2, Echo, "w") as workers:
        answers = workers.map([0.0, 30.0, 0.0])
        _, pid, task = next(answers)
        assert task == 0.0
        os.kill(pid, signal.SIGKILL)  # it was sent the second task too, and sleeps on it
        with pytest.raises(WorkerLost, match="killed by signal 9"):
            next(answers)
        pids = workers.pids
    assert all(gone(pid) for pid in pids)
