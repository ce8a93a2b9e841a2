"""Reports in parallel: report subflows run in worker processes, `workers` at a time, sharing one
page pool.

Repair and extraction are pure Python (the lexicon, spaCy's rules): threads of one process take
turns under the GIL, so reports run side by side only in processes of their own. Each report's
subflow (`flows.report.process_report`, as it runs in one process) runs in a worker of a
`ProcessPoolExecutor` whose processes are forked from a **forkserver** that has imported the flows
and the library and loaded the lexicon and the spaCy pipeline once (`flows.warm`): a worker starts
in milliseconds, with those loaded, and the forkserver boots while the main process starts.

The subflow's flow run is created by the main process, as the child of a task run of the corpus
flow, and run in the worker by Prefect's own engine (`prefect.flow_engine.run_flow`), as Prefect's
workers run a flow run they are given: the server and its UI see each report as a subflow of the
corpus run, as when it runs in one process. Page reading is bounded across all reports by one
semaphore of `workers` slots (`page_slot`), so a batch never runs more Tesseracts than `--workers`
says, and one big scan still uses every slot. Progress events of the workers come back to the main
process's listener (`flows.progress`) through a queue.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Hashable, Iterable, Iterator

from flows import progress

_CONTEXT = multiprocessing.get_context("forkserver")
_PRELOAD = ["flows.warm"]
_slots: Any = None  # in a worker: the run's page semaphore


def start_forkserver() -> None:
    """Start the forkserver now (it imports and loads `flows.warm` while the caller goes on). Its
    environment is the caller's at this moment: call it once the run's settings are in
    `os.environ` (the API URL, the task cache's folder)."""
    _CONTEXT.set_forkserver_preload(_PRELOAD)
    from multiprocessing import forkserver

    forkserver.ensure_running()


@contextlib.contextmanager
def page_slot() -> Iterator[None]:
    """Hold one of the run's page slots while a page is read (in the main process, where the page
    tasks' thread pool bounds them already, a no-op)."""
    if _slots is None:
        yield
        return
    with _slots:
        yield


class _Forward:
    """A `flows.progress` listener of a worker: each event goes to the main process's queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def report_started(self, report: str, pages: int) -> None:
        self.queue.put(("report_started", (report, pages)))

    def page_done(self, report: str) -> None:
        self.queue.put(("page_done", (report,)))

    def report_done(self, report: str, ok: bool) -> None:
        self.queue.put(("report_done", (report, ok)))


def _init_worker(queue: Any, slots: Any, env: dict[str, str]) -> None:
    global _slots
    os.environ.update(env)
    _slots = slots
    progress.listen(_Forward(queue))


def run_report(flow_run: Any, parameters: dict, workers: int) -> dict:
    """In a worker: the report's flow run, by Prefect's engine, with the run's settings read from
    this process's environment (the forkserver imported Prefect before they were all set)."""
    from prefect.context import SettingsContext, get_settings_context
    from prefect.flow_engine import run_flow
    from prefect.settings import Settings
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.report import _no_heartbeats, process_report

    flow = process_report.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    with SettingsContext(profile=get_settings_context().profile, settings=Settings()), _no_heartbeats():
        return run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="result")


class ReportPool:
    """`workers` worker processes forked from the preloaded forkserver, with their progress events
    relayed to this process's listener. `run_all` runs jobs side by side; a worker that dies (killed,
    out of memory) breaks the pool: every job it had not finished comes back as `BrokenProcessPool`,
    and `run_alone` runs one in a new worker of its own."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.events = _CONTEXT.Queue()
        self.slots = _CONTEXT.BoundedSemaphore(workers)
        self.env = _run_environment()
        self._relay = threading.Thread(target=self._relay_events, name="ogp-progress-relay", daemon=True)
        self._relay.start()

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        start_forkserver()
        return ProcessPoolExecutor(workers, mp_context=_CONTEXT, initializer=_init_worker,
                                   initargs=(self.events, self.slots, self.env))

    def _relay_events(self) -> None:
        while True:
            event = self.events.get()
            if event is None:
                return
            name, args = event
            getattr(progress, name)(*args)

    def run_all(self, fn: Callable, jobs: Iterable[tuple[Hashable, tuple]]) -> dict[Hashable, Any]:
        """`fn(*args)` for every (key, args) of `jobs`, `workers` at a time, each submitted as soon as
        `jobs` yields it: its result, or the exception it raised."""
        with self._executor(self.workers) as executor:
            futures: dict[Hashable, Any] = {}
            for key, args in jobs:
                try:
                    futures[key] = executor.submit(fn, *args)
                except BrokenProcessPool as exc:  # a worker died before this job was handed over
                    futures[key] = exc
            return {key: f if isinstance(f, BrokenProcessPool) else _outcome(f) for key, f in futures.items()}

    def run_alone(self, fn: Callable, *args: Any) -> Any:
        with self._executor(1) as executor:
            return _outcome(executor.submit(fn, *args))

    def close(self) -> None:
        self.events.put(None)
        self._relay.join(timeout=5)

    def __enter__(self) -> "ReportPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_environment() -> dict[str, str]:
    """The variables a worker needs to run as this process does: ours, and Prefect's settings as
    they are here, those set in code (`temporary_settings`: a test's server) included."""
    from prefect.settings import get_current_settings

    env = {k: v for k, v in os.environ.items() if k.startswith(("PREFECT_", "OGP_", "OMP_"))}
    env.update(get_current_settings().to_environment_variables(exclude_unset=True))
    return env


def _outcome(future: Future) -> Any:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, which types it
        return exc
