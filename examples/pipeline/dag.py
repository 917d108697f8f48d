"""Airflow DAG of the unchanged Azure ML pipeline definition beside it (`airflow dags test aml_example_pipeline`)."""
import os

from airflow_provider import pipeline_dag_from_file

dag = pipeline_dag_from_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline.py"),
                             dag_id="aml_example_pipeline")
