"""An isolated Airflow 3 for tests: its environment, its metadata database, the `airflow` CLI.

Everything is configured through `AIRFLOW__*` variables (never by editing an `airflow.cfg`), so each
test gets its own home and nothing leaks in from the developer's environment. Metadata databases are
copies of one migrated per session: SQLite by file copy, PostgreSQL (127.0.0.1:5432) by
`CREATE DATABASE ... TEMPLATE`.

    env = airflow_env(tmp_path / "home", dags_folder)
    migrate_db(env)
    assert dags_test(env, "my_dag", {"x": 1}).returncode == 0
"""

from __future__ import annotations

import atexit
import base64
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USERNAME = "admin"
PASSWORD = "admin"  # written to the home's password file; the simple auth manager reads it from there

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
DB_PREFIX = "aml_af_"

_sqlite_template: Path | None = None
_template_db: str | None = None


def free_port() -> int:
    """A port nobody listens on right now, on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_env(home: Path, dags_folder: Path, sql_alchemy_conn: str | None = None,
                executor: str = "LocalExecutor", **extra: str) -> dict[str, str]:
    """The `AIRFLOW*` variables of an isolated Airflow in `home`; `extra` adds or overrides variables.

    Creates `home` and the simple auth manager's password file (user `admin`, password `admin`).
    Intervals are short so tests wait seconds, not minutes; every listener is on 127.0.0.1.
    """
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USERNAME: PASSWORD}))
    port = free_port()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": "4",  # 2 cores: more workers only compete
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",  # a loaded CI box must not turn a slow import into a failure
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn or f"sqlite:///{home / 'airflow.db'}",
        **_auth_env(passwords),
        **_api_env(port),
        **_speed_env(),
        **_logging_env(),
    }
    env.update(extra)
    return env


def _auth_env(passwords: Path) -> dict[str, str]:
    # One secret shared by every component: tokens the API server issues must verify in the scheduler.
    return {
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:ADMIN",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(64),
    }


def _api_env(port: int) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
    }


def _speed_env() -> dict[str, str]:
    return {
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",  # new DAG files show up within seconds
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "180",
        "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "300",
    }


def _logging_env() -> dict[str, str]:
    # No log server: it would listen on all interfaces. The API server reads task logs from local files.
    return {
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }


def process_env(env: dict[str, str]) -> dict[str, str]:
    """The full environment of an Airflow subprocess: ours, minus any `AIRFLOW*` of the caller's."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    return {**inherited, **env}


def run_airflow(env: dict[str, str], *args: str, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `airflow` CLI in the isolated environment; on failure raise with the output's tail."""
    result = subprocess.run([AIRFLOW, *args], env=process_env(env), capture_output=True, text=True,
                            timeout=timeout, cwd=env["AIRFLOW_HOME"])
    if check and result.returncode != 0:
        raise RuntimeError(f"`airflow {' '.join(args)}` exited {result.returncode}:\n{_tail(result)}")
    return result


def migrate_db(env: dict[str, str]) -> None:
    """`airflow db migrate`; a SQLite DB is a copy of one migrated per session (~0.1 s instead of ~10 s)."""
    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if not conn.startswith("sqlite:///"):
        run_airflow(env, "db", "migrate")
        return
    target = Path(conn.removeprefix("sqlite:///"))
    shutil.copyfile(_migrated_sqlite(env), target)


def _migrated_sqlite(env: dict[str, str]) -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="airflow-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        db = folder / "airflow.db"
        run_airflow({**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}"}, "db", "migrate")
        _sqlite_template = db
    return _sqlite_template


# ---- PostgreSQL metadata databases ----------------------------------------------------------------

def _admin_connection():
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    return conn


def _sql(statement: str) -> list[tuple]:
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def ensure_postgres(timeout: float = 30) -> None:
    """Reach PostgreSQL on 127.0.0.1:5432, starting the local cluster if it is down; raise if impossible."""
    if importlib.util.find_spec("asyncpg") is None:
        # Airflow 3.3 derives a `postgresql+asyncpg` URL from sql_alchemy_conn at import time.
        raise RuntimeError("asyncpg is not installed: every Airflow component fails on PostgreSQL without it")
    try:
        _admin_connection().close()
        return
    except psycopg2.OperationalError:
        started = subprocess.run(PG_START, shell=True, capture_output=True, text=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            _admin_connection().close()
            return
        except psycopg2.OperationalError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on 127.0.0.1:5432 unreachable ({error}); `{PG_START}` said: "
                                   f"{started.stdout}{started.stderr}") from error
            time.sleep(0.5)


def drop_stale_databases() -> None:
    """Drop databases left by test processes that died (their pid is in the name)."""
    for (name,) in _sql(f"SELECT datname FROM pg_database WHERE datname LIKE '{DB_PREFIX}%'"):
        pid = name.removeprefix(DB_PREFIX).removeprefix("tpl_").split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                _sql(f'DROP DATABASE IF EXISTS "{name}"')  # no FORCE: a database in use is not stale
            except psycopg2.Error:
                pass


def new_database_name() -> str:
    """Unique, and carries our pid so a later session can tell a leftover from a database in use."""
    return f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"


def postgres_url(database: str) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


def database_exists(name: str) -> bool:
    return bool(_sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def _migrated_template(env: dict[str, str]) -> str:
    """A database migrated once per session: cloning it takes ~0.3 s, `airflow db migrate` ~9 s."""
    global _template_db
    if _template_db is None:
        name = f"{DB_PREFIX}tpl_{os.getpid()}"
        _sql(f'DROP DATABASE IF EXISTS "{name}"')
        _sql(f'CREATE DATABASE "{name}"')
        atexit.register(drop_database, name)
        migrate_db({**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url(name)})
        _template_db = name
    return _template_db


def create_database(name: str, env: dict[str, str]) -> None:
    """A fresh, migrated database: a clone of the session's template (migrated with `env` if new)."""
    _sql(f'CREATE DATABASE "{name}" TEMPLATE "{_migrated_template(env)}"')


def drop_database(name: str) -> None:
    _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- `airflow dags test` --------------------------------------------------------------------------

def dags_test(env: dict[str, str], dag_id: str, conf: dict | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`airflow dags test DAG_ID` in the isolated env; returns the result, exit code included (no raise)."""
    args = ["dags", "test", dag_id]
    if conf is not None:
        args += ["--conf", json.dumps(conf)]
    return run_airflow(env, *args, timeout=timeout, check=False)


def _tail(result: subprocess.CompletedProcess[str], chars: int = 4000) -> str:
    return f"--- stdout ---\n{result.stdout[-chars:]}\n--- stderr ---\n{result.stderr[-chars:]}"
