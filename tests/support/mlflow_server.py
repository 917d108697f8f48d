"""A real `mlflow server` on 127.0.0.1 for tests that must cross HTTP (REST store, proxied artifacts).

Self-contained (no fixture magic) so it can move to tests/conftest.py unchanged. The file is not
named `server.py`: pytest puts this folder on sys.path, where a generic name could shadow others.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlflow_executable() -> str:
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


def start_mlflow_server(tmp_dir: str | os.PathLike[str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a server storing everything under `tmp_dir`; return (url, process) once /health answers.

    Raises RuntimeError (with the server's log) when it does not answer within 60 s.
    """
    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job-runner processes for tests
    command = [
        _mlflow_executable(), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{folder / 's.db'}", "--artifacts-destination", str(folder / "art"),
    ]
    with open(log_path, "wb") as log:
        # Own process group: uvicorn forks workers, and stop_mlflow_server must end them all.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=folder, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return url, process
        except OSError:
            time.sleep(0.3)
    stop_mlflow_server(process)
    tail = log_path.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"mlflow server did not answer {url}/health within {START_TIMEOUT:.0f} s "
                       f"(exit code {process.returncode}). Log tail:\n{tail}")


def stop_mlflow_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group, killing it if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
