"""Progress events from tasks to whoever listens (the CLI's progress bars). Tasks run in threads
of the flow's process, so a listener set here sees them; on a Dask cluster events stay on the
workers and only the per-report events (sent by the flow) reach the CLI."""
from __future__ import annotations

from typing import Protocol


class Listener(Protocol):
    def report_started(self, report: str, pages: int) -> None: ...
    def page_done(self, report: str) -> None: ...
    def report_done(self, report: str, ok: bool) -> None: ...


_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    global _listener
    _listener = listener


def report_started(report: str, pages: int) -> None:
    if _listener:
        _listener.report_started(report, pages)


def page_done(report: str) -> None:
    if _listener:
        _listener.page_done(report)


def report_done(report: str, ok: bool) -> None:
    if _listener:
        _listener.report_done(report, ok)
