"""The hub's alerting DAG, hub_health (hub.airflow.health)."""

from hub.airflow.health import health_dag

hub_health = health_dag()
