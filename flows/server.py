"""The run's own Prefect server, started before anything else so that it boots while the CLI
imports the flows and the library.

Without `PREFECT_API_URL`, Prefect starts an embedded server (`SubprocessASGIServer`) at the first
API call: only after the flows, the library and Prefect's own server modules are imported in the
client too (2.7 s of CPU here, to start a server that runs in another process). `ephemeral()`
starts the same server (Prefect's own app, `prefect.server.api.server:create_app`, run by uvicorn as
Prefect runs it) at once, from a module that imports nothing of Prefect, and points the run at it
through `PREFECT_API_URL`; it stops with the run. When `PREFECT_API_URL` is set already, the run uses
that server and nothing is started.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from pipeline.errors import ServerFailed

_OURS = "OGP_EPHEMERAL_PREFECT_SERVER"  # set while the API URL is this run's own server
_pending: tuple[subprocess.Popen, str, float] | None = None  # started, not yet answering: (process, URL, timeout)


def ours() -> bool:
    """Whether the run's API is the server `ephemeral()` started (it stops with the run)."""
    return os.environ.get(_OURS) == os.environ.get("PREFECT_API_URL", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def ephemeral(timeout: float | None = None) -> Iterator[None]:
    """A Prefect server for the duration of the block, unless `PREFECT_API_URL` names one. The
    server boots while the block runs; the first API call waits for it (`wait()`)."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    port = _free_port()
    proc = _start(port)
    url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = os.environ[_OURS] = url
    global _pending
    _pending = (proc, url, timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 90)))
    try:
        yield
    finally:
        _pending = None
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop(_OURS, None)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait() -> None:
    """Wait until the server `ephemeral()` started answers (at once if it does, or if there is
    none); a server that exits or does not answer in time is a `ServerFailed` naming its exit code."""
    global _pending
    if _pending is None:
        return
    proc, url, timeout = _pending
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            state = f"exited with code {proc.returncode}" if proc.poll() is not None else f"did not answer in {timeout:.0f} s"
            raise ServerFailed(url, f"the run's Prefect server {state} (its messages are above)")
        time.sleep(0.05)
    _pending = None
