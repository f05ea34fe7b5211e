"""Worker processes for an import's chunks, so reading, checking and tokenizing use every core.

    with WorkerProcesses(2, Checker, context) as workers:
        for result in workers.map(chunks):  # results in the order of the chunks
            ...

Each worker is a fresh Python (``python -m exports.processes``), not a fork or a
``multiprocessing`` child: the importing process may be a Celery prefork pool's
child, a daemon, which ``multiprocessing`` forbids to have children ("daemonic
processes are not allowed to have children"), and it runs threads (the job's
heartbeat, the COPY writer) that a fork would copy in mid-step. A worker sets
Django up (settings and models; it never opens the database), makes its
handler once, ``factory(*args)``, and answers each task with ``handler(task)``,
in order, over pipes of its own. At most ``IN_FLIGHT`` tasks wait per worker, so
memory holds a few chunks whatever the file's size; a thread of the worker
takes tasks off the pipe as they come, so neither side ever waits on a full
pipe for the other.

Starting a worker takes a second or two (Python, Django, spaCy); it says when
it is ready, and only then is it sent tasks. Until one is, the importing
process may answer tasks itself (``map``'s ``here``), in order, so what it
answers is used at once and nothing waits on a worker still starting.

A worker that dies (killed, out of memory) ends the map with ``WorkerLost``;
a handler that raises sends its traceback back, raised as ``WorkerFailed``.
Leaving the block ends the workers: they finish their task and exit, or are
killed when the block ends with an error. A worker whose importer dies sees
its pipe close and exits too.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait

from django.conf import settings

IN_FLIGHT = 2  # tasks sent to a worker and not yet answered: one to work on, one waiting
STOP_SECONDS = 30
_END = object()


class WorkerLost(RuntimeError):
    """A worker process ended while it had tasks to answer."""

    def __init__(self, returncode: int | None):
        self.returncode = returncode
        how = f"killed by signal {-returncode}" if returncode is not None and returncode < 0 else \
            f"exit status {returncode}"
        super().__init__(f"a worker process stopped ({how})")


class WorkerFailed(RuntimeError):
    """A worker's handler raised; the message holds its traceback."""


class _Worker:
    def __init__(self, factory: Callable, args: tuple):
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        # The importer's settings (overridden ones, in tests, hold no module name: the environment's).
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
               or settings.SETTINGS_MODULE}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "exports.processes", str(task_read), str(result_write)],
                pass_fds=(task_read, result_write), cwd=settings.BASE_DIR, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # stderr: the importer's, for tracebacks
        finally:
            os.close(task_read)
            os.close(result_write)
        self.tasks = Connection(task_write, readable=False)
        self.results = Connection(result_read, writable=False)
        # Sent from a thread, so the importer never waits on a worker still starting up.
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.sender = threading.Thread(target=self._send_all, name="worker-tasks", daemon=True)
        self.sender.start()
        self.send((factory, args))
        self.ready = False  # its handler is made: its first message said so
        self.pending = 0  # tasks sent and not yet answered

    def send(self, task: object) -> None:
        self.outbox.put(pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))

    def _send_all(self) -> None:
        while (message := self.outbox.get()) is not None:
            try:
                self.tasks.send_bytes(message)
            except OSError:  # BrokenPipeError: it has gone, which receive() reports
                return

    def is_ready(self) -> bool:
        """Whether it has made its handler and takes tasks (WorkerFailed if it could not make it)."""
        if not self.ready and self.results.poll(0):
            self.receive()
            self.ready = True
        return self.ready

    def receive(self) -> object:
        try:
            ok, value = pickle.loads(self.results.recv_bytes())
        except (EOFError, OSError):
            raise WorkerLost(self.process.wait()) from None
        if not ok:
            raise WorkerFailed(f"a worker process failed:\n{value}")
        return value

    def stop(self, *, kill: bool) -> None:
        if kill:
            self.process.kill()
        self.outbox.put(None)
        self.sender.join()
        self.tasks.close()  # the worker reads to the end of its pipe and exits
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()


class WorkerProcesses:
    """``count`` worker processes, each with its own ``factory(*args)`` (picklable: a class or module-level
    function, and its arguments) answering tasks."""

    def __init__(self, count: int, factory: Callable, *args):
        self.workers: list[_Worker] = []
        try:
            for _ in range(count):
                self.workers.append(_Worker(factory, args))
        except BaseException:
            self.close(kill=True)
            raise

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.workers]

    def map(self, tasks: Iterable, here: Callable | None = None, here_at_most: int | None = None) -> Iterator:
        """``handler(task)`` of each task, in their order, computed by the workers that are ready; while none
        is, by ``here(task)`` when it is given (the handler made in this process; ``here_at_most`` tasks at
        most, when given)."""
        if any(worker.pending for worker in self.workers):
            raise RuntimeError("the tasks of an earlier map are still being answered")
        tasks = iter(tasks)
        slots: deque[_Worker] = deque()  # the worker answering each task sent, in the tasks' order
        here_left = (float("inf") if here_at_most is None else here_at_most) if here is not None else 0
        exhausted = False
        while True:
            sent = True
            while sent and not exhausted:  # a task to each ready worker with room, in turn
                sent = False
                for worker in self.workers:
                    if worker.pending < IN_FLIGHT and worker.is_ready():
                        task = next(tasks, _END)
                        if task is _END:
                            exhausted = True
                            break
                        worker.send(task)
                        worker.pending += 1
                        slots.append(worker)
                        sent = True
            if slots:
                worker = slots.popleft()
                result = worker.receive()
                worker.pending -= 1
                yield result
            elif exhausted:
                return
            elif here_left:  # no worker is ready yet
                task = next(tasks, _END)
                if task is _END:
                    return
                here_left -= 1
                yield here(task)
            else:
                wait([worker.results for worker in self.workers])  # until one is ready (or has died)

    def close(self, *, kill: bool = False) -> None:
        for worker in self.workers:
            worker.stop(kill=kill or bool(worker.pending))
        self.workers = []


# ------------------------------------------------------------------------------------------- the worker's side

def serve(tasks: Connection, results: Connection) -> None:
    """Make the handler from the first message, then answer every task until the pipe closes."""
    factory, args = pickle.loads(tasks.recv_bytes())
    try:
        handler, failure = factory(*args), None
    except Exception:
        handler, failure = None, traceback.format_exc()
    # What setting up made (Django, the handler's spaCy pipeline) lives as long as the worker: out of the
    # collector's way, so its collections only walk a task's objects (they took 7% of an import's checking).
    gc.freeze()
    results.send_bytes(pickle.dumps((failure is None, failure), protocol=pickle.HIGHEST_PROTOCOL))  # ready
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def take() -> None:  # off the pipe as tasks come, so the importer never blocks sending one
        try:
            while True:
                inbox.put(tasks.recv_bytes())
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=take, name="tasks", daemon=True).start()
    while (message := inbox.get()) is not None:
        if failure is None:
            try:
                reply = (True, handler(pickle.loads(message)))
            except Exception:
                reply = (False, traceback.format_exc())
        else:
            reply = (False, failure)
        try:
            results.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # the importer has gone
            return


def main(argv: list[str]) -> None:
    import django

    django.setup()
    serve(Connection(int(argv[1]), writable=False), Connection(int(argv[2]), readable=False))


if __name__ == "__main__":
    main(sys.argv)
