"""The run's own Prefect server (flows.server): started at once, before the flows are imported,
stopped with the run; never when PREFECT_API_URL names a server already."""
import os
import urllib.request

import pytest

from flows import server


def test_a_configured_server_is_used_and_nothing_is_started(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with server.ephemeral():
        server.wait()  # nothing to wait for
        assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
        assert not server.ours()  # a server that outlives the run: heartbeats go to it
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_the_runs_own_server_answers_and_stops_with_the_run(monkeypatch, tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    with server.ephemeral():
        url = os.environ["PREFECT_API_URL"]
        assert server.ours()
        proc = server._pending[0]
        server.wait()
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            assert answer.status == 200
    assert "PREFECT_API_URL" not in os.environ and proc.poll() is not None


def test_a_server_that_cannot_start_is_named(monkeypatch, tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(server, "_start", lambda port: __import__("subprocess").Popen(["false"]))
    from pipeline.errors import ExitCode, ServerFailed

    with server.ephemeral(), pytest.raises(ServerFailed, match="Prefect server exited with code 1") as failed:
        server.wait()
    assert failed.value.exit_code == ExitCode.SERVER_FAILED and "PREFECT_API_URL" in failed.value.hint
