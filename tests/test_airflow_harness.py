"""The Airflow test harness itself, on a two-task DAG: real scheduler, real REST API, `airflow dags test`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.airflow_cluster import AirflowCluster, ClusterError
from tests.support.airflow_env import airflow_env, dags_test, database_exists, migrate_db

DAG_ID = "harness_hello"
DAG_FILE = '''
from pathlib import Path

from airflow.sdk import dag, task


@dag(dag_id="harness_hello", schedule=None, catchup=False)
def harness_hello():
    @task
    def write(**context) -> str:
        conf = context["dag_run"].conf
        path = Path(conf["out_dir"]) / "message.txt"
        path.write_text(conf["message"])
        return str(path)

    @task
    def read(path: str) -> None:
        text = Path(path).read_text()
        print(f"read back: {text}")
        Path(path).with_name("done.txt").write_text(text.upper())

    read(write())


harness_hello()
'''


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "harness_hello.py").write_text(DAG_FILE)
    return folder


def test_cluster_runs_a_triggered_dag_and_leaves_nothing_behind(tmp_path: Path, dags_folder: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with AirflowCluster(tmp_path / "cluster", dags_folder) as cluster:
        print(f"cluster healthy after {cluster.startup_seconds:.1f}s")
        started = time.monotonic()
        run_id = cluster.trigger(DAG_ID, {"out_dir": str(out), "message": "hello from conf"})
        assert cluster.wait(DAG_ID, run_id, timeout=120) == "success", cluster.diagnostics()
        print(f"trigger -> success in {time.monotonic() - started:.1f}s")

        assert cluster.task_states(DAG_ID, run_id) == {"write": "success", "read": "success"}
        assert (out / "done.txt").read_text() == "HELLO FROM CONF"
        assert "read back: hello from conf" in cluster.task_log(DAG_ID, run_id, "read")
        _assert_import_errors_surface(cluster, dags_folder)
        database = cluster.database
        assert database is not None

    assert cluster.alive_processes() == []
    assert not database_exists(database)


def _assert_import_errors_surface(cluster: AirflowCluster, dags_folder: Path) -> None:
    """A DAG file that does not import fails `wait_for_dag` with its traceback, not with a timeout."""
    (dags_folder / "broken.py").write_text("from airflow.sdk import dag\nraise ValueError('deliberately broken')\n")
    with pytest.raises(ClusterError, match="deliberately broken"):
        cluster.wait_for_dag("broken", timeout=60)


def test_dags_test_runs_the_dag_with_conf_on_sqlite(tmp_path: Path, dags_folder: Path) -> None:
    # A failed run exits 1 ("DagRun failed"): checked by hand, not here, as each `dags test` costs ~15 s.
    env = airflow_env(tmp_path / "home", dags_folder)
    migrate_db(env)
    out = tmp_path / "out"
    out.mkdir()

    result = dags_test(env, DAG_ID, {"out_dir": str(out), "message": "via dags test"})

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (out / "done.txt").read_text() == "VIA DAGS TEST"
