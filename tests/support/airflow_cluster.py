"""A real Airflow 3 deployment for end-to-end tests: PostgreSQL, API server, scheduler, DAG processor.

    with AirflowCluster(tmp_path, dags_folder) as cluster:
        run_id = cluster.trigger("my_dag", {"x": 1})
        assert cluster.wait("my_dag", run_id) == "success"

Each cluster gets its own database (a clone of one migrated per session), its own AIRFLOW_HOME and
free loopback ports. Everything it starts, down to scripts that left their session, is killed on exit.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.airflow_env import (
    AIRFLOW,
    PASSWORD,
    USERNAME,
    airflow_env,
    create_database,
    drop_database,
    drop_stale_databases,
    ensure_postgres,
    new_database_name,
    postgres_url,
    process_env,
)

COMPONENTS = {"api-server": ["api-server"], "scheduler": ["scheduler", "--skip-serve-logs"],
              "dag-processor": ["dag-processor"]}
FINAL_RUN_STATES = ("success", "failed")


class ClusterError(RuntimeError):
    """A component died or a run did not finish in time; the message has the components' log tails."""


# ---- processes --------------------------------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (ppid, session, start time, state) of every process, from /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[3]), int(fields[19]), fields[0])
    return table


def _die_with_parent() -> None:
    """Runs in the child: SIGTERM it if the test process dies without cleaning up (Linux prctl)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class _ProcessTracker:
    """Remembers every process that descends from the components, even after it is orphaned.

    Airflow's task processes take their own process group and operators may start scripts in a new
    session, so neither killpg nor the session finds them all: the parent links do, while they last.
    A process is known by (pid, start time), so a recycled pid is never mistaken for one of ours.
    """

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()

    def add(self, pid: int) -> None:
        self.seen.add((pid, _proc_table()[pid][2]))

    def snapshot(self, spare_session: int | None = None) -> list[int]:
        """Record the descendants of every live known process; return the live ones not in `spare_session`."""
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, *_) in table.items():
            children.setdefault(ppid, []).append(pid)
        stack = self.alive(table)
        while stack:
            for child in children.get(stack.pop(), []):
                if (child, table[child][2]) not in self.seen:
                    self.seen.add((child, table[child][2]))
                    stack.append(child)
        return [pid for pid in self.alive(table) if table[pid][1] != spare_session]

    def alive(self, table: dict[int, tuple[int, int, int, str]] | None = None) -> list[int]:
        table = table if table is not None else _proc_table()
        return sorted(pid for pid, start in self.seen
                      if pid in table and table[pid][2] == start and table[pid][3] not in "ZX")

    @staticmethod
    def kill(pids: list[int], sig: int) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


# ---- the cluster -------------------------------------------------------------------------------------

class AirflowCluster:
    """API server + scheduler + DAG processor (LocalExecutor) on a fresh PostgreSQL database."""

    def __init__(self, tmp_dir: Path, dags_folder: Path, extra_env: dict[str, str] | None = None, *,
                 dag_ids: tuple[str, ...] = (), startup_timeout: float = 180, stop_grace: float = 10) -> None:
        """`extra_env` adds or overrides `AIRFLOW__*` variables; `start()` waits for `dag_ids` to be parsed."""
        self.tmp_dir = Path(tmp_dir)
        self.dags_folder = Path(dags_folder)
        self.extra_env = extra_env or {}
        self.dag_ids = dag_ids
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.logs = self.tmp_dir / "component-logs"
        self.env: dict[str, str] = {}
        self.database: str | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self._tracker = _ProcessTracker()
        self._token: str | None = None
        self.startup_seconds: float | None = None

    @property
    def base_url(self) -> str:
        return self.env["AIRFLOW__API__BASE_URL"]

    def __enter__(self) -> AirflowCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- lifecycle

    def start(self) -> AirflowCluster:
        """Create the database, start the components, wait until all report healthy and the DAGs of
        `dag_ids` are parsed; on failure stop everything and raise with the logs."""
        started = time.monotonic()
        ensure_postgres()
        drop_stale_databases()
        self.logs.mkdir(parents=True, exist_ok=True)
        name = new_database_name()
        self.env = airflow_env(self.tmp_dir / "airflow-home", self.dags_folder, postgres_url(name),
                               **self.extra_env)
        try:
            create_database(name, self.env)
            self.database = name
            for component, args in COMPONENTS.items():
                self._spawn(component, args)
            self._wait_healthy(started + self.startup_timeout)
            self._token = self._login()
            for dag_id in self.dag_ids:
                self.wait_for_dag(dag_id)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "w")
        with log:
            proc = subprocess.Popen([AIRFLOW, *args], env=process_env(self.env), cwd=self.tmp_dir,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        self.processes[name] = proc
        self._tracker.add(proc.pid)

    def stop(self) -> None:
        """Terminate every process of the cluster, kill what is left after the grace period, drop the DB."""
        try:
            self._terminate_all()
        finally:
            if self.database:
                drop_database(self.database)
                self.database = None

    def _terminate_all(self) -> None:
        """Scheduler, DAG processor and their tasks first, while the API server still takes the tasks'
        final reports (without it they retry for a minute); then the API server."""
        api = self.processes.get("api-server")
        others = [proc for name, proc in self.processes.items() if name != "api-server"]
        self._terminate(others, spare_session=api.pid if api else None)
        self._terminate([api] if api else [], spare_session=None)
        if left := self._await_gone(5):
            raise ClusterError(f"processes survived SIGKILL: {left}")

    def _terminate(self, components: list[subprocess.Popen], spare_session: int | None) -> None:
        """SIGTERM the components' groups and every tracked process outside `spare_session`, SIGKILL
        what is left after the grace period."""
        survivors = self._tracker.snapshot(spare_session)
        for proc in components:
            self._signal_group(proc, signal.SIGTERM)
        self._tracker.kill(survivors, signal.SIGTERM)  # tasks and scripts in groups or sessions of their own
        deadline = time.monotonic() + self.stop_grace
        while survivors and time.monotonic() < deadline:
            time.sleep(0.2)
            survivors = self._tracker.snapshot(spare_session)
        self._tracker.kill(survivors, signal.SIGKILL)
        for proc in components:
            proc.wait(timeout=10)

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def alive_processes(self) -> list[int]:
        """Pids of every process of this cluster still running (empty after a clean `stop()`)."""
        return self._tracker.alive()

    def _await_gone(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while (left := self._tracker.alive()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def _wait_healthy(self, deadline: float) -> None:
        wanted = ("metadatabase", "scheduler", "dag_processor")
        health: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            status, health = self._request("GET", "/api/v2/monitor/health", auth=False)
            if status == 200 and all(health[part]["status"] == "healthy" for part in wanted):
                return
            time.sleep(0.5)
        raise ClusterError(f"not healthy after {self.startup_timeout}s: {health}\n{self.diagnostics()}")

    def check_alive(self) -> None:
        """Raise with the logs if a component has exited."""
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ClusterError(f"airflow {name} exited with {proc.returncode}\n{self.diagnostics()}")

    def diagnostics(self, chars: int = 3000) -> str:
        """The tail of every component's log, for failure messages."""
        tails = []
        for log in sorted(self.logs.glob("*.log")):
            tails.append(f"----- {log.name} (last {chars} chars) -----\n"
                         f"{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(tails)

    # -- REST API

    def _login(self) -> str:
        status, body = self._request("POST", "/auth/token", {"username": USERNAME, "password": PASSWORD},
                                     auth=False)
        if status != 201:
            raise ClusterError(f"POST /auth/token answered {status}: {body}")
        return body["access_token"]

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
        """(status, decoded JSON body); (0, error) when the server does not answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return 0, str(error)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API (`/api/v2/...`) as the admin user; raise on any non-2xx answer."""
        status, payload = self._request(method, path, body)
        if not 200 <= status < 300:
            raise ClusterError(f"{method} {path} answered {status}: {payload}")
        return payload

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """Wait until the DAG processor has parsed `dag_id`; while it is missing, any import error (of any
        file) fails at once with its traceback instead of a timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            status, dag = self._request("GET", f"/api/v2/dags/{_q(dag_id)}")
            if status == 200:
                return dag
            if errors := self.api("GET", "/api/v2/importErrors")["import_errors"]:
                raise ClusterError(f"DAG {dag_id!r} not loaded; import errors:\n"
                                   + "\n".join(f"{e['filename']}:\n{e['stack_trace']}" for e in errors))
            time.sleep(0.5)
        raise ClusterError(f"DAG {dag_id!r} not parsed within {timeout}s\n{self.diagnostics()}")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{_q(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, run_id: str | None = None) -> str:
        """Trigger a manual run through the REST API (DAGs start unpaused here); returns its run id."""
        self.wait_for_dag(dag_id)
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body)["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")["state"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        """Wait for the run to end; returns "success" or "failed". Raise with task states on timeout."""
        deadline, state = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            self.check_alive()
            self._tracker.snapshot()  # learn task processes while their parents still link them to us
            if (state := self.run_state(dag_id, run_id)) in FINAL_RUN_STATES:
                return state
            time.sleep(0.5)
        raise ClusterError(f"run {run_id} of {dag_id} still {state!r} after {timeout}s; tasks: "
                           f"{self.task_states(dag_id, run_id)}\n{self.diagnostics()}")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """{task_id: state}; a mapped task instance is keyed `task_id[map_index]`."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances"
        states: dict[str, str | None] = {}
        while True:
            page = self.api("GET", f"{path}?limit=100&offset={len(states)}")
            for ti in page["task_instances"]:
                key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
                states[key] = ti["state"]
            if not page["task_instances"] or len(states) >= page["total_entries"]:
                return states

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1,
                 map_index: int = -1) -> str:
        """The task's log as text, one `level event` line per entry."""
        path = (f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/"
                f"{try_number}?full_content=true&map_index={map_index}")
        entries = self.api("GET", path)["content"]
        return "\n".join(_log_line(entry) for entry in entries)


def _log_line(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    return f"{entry.get('level', '')} {entry.get('event', '')}".strip()


def _q(part: str) -> str:
    """Run ids hold `:` and `+`: quote every path segment."""
    return urllib.parse.quote(part, safe="")
