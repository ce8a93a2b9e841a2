"""flows.pool: jobs side by side in forked workers; a worker that dies fails only what it had
not finished, and each of those can be run again alone."""
import os

from concurrent.futures.process import BrokenProcessPool

from flows import pool


def _double_or_die(x: int) -> int:
    if x < 0:
        os._exit(1)  # a worker killed mid-job, as by the OOM killer
    return 2 * x


def test_jobs_run_in_workers_and_a_dead_worker_fails_only_unfinished_jobs():
    with pool.ReportPool(2) as workers:
        assert workers.run_all(_double_or_die, {"a": (1,), "b": (2,), "c": (3,)}.items()) == {"a": 2, "b": 4, "c": 6}
        results = workers.run_all(_double_or_die, {"bad": (-1,), "a": (1,)}.items())
        assert isinstance(results["bad"], BrokenProcessPool)
        # again, alone: the good job succeeds, the bad one fails again, the pool goes on
        assert workers.run_alone(_double_or_die, 1) == 2
        assert isinstance(workers.run_alone(_double_or_die, -1), BrokenProcessPool)
        assert workers.run_all(_double_or_die, iter([("z", (5,))])) == {"z": 10}


def test_a_worker_dying_while_jobs_are_still_handed_over_breaks_no_run():
    """Jobs are submitted as they come; those handed over after a worker died come back as
    `BrokenProcessPool` too (their caller runs them again alone), none is lost."""
    import time

    def jobs():
        yield "bad", (-1,)
        time.sleep(1.0)  # the worker is dead by now: the pool is broken
        yield "late", (2,)

    with pool.ReportPool(1) as workers:
        results = workers.run_all(_double_or_die, jobs())
    assert set(results) == {"bad", "late"}
    assert isinstance(results["bad"], BrokenProcessPool) and isinstance(results["late"], BrokenProcessPool)


def test_page_slots_bound_pages_across_workers():
    assert pool._slots is None  # the main process: the page tasks' own pool bounds them
    with pool.page_slot():
        pass
