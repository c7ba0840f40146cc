"""The hub's DAGs: one per declared exchange (hub.airflow.exchanges)."""

from hub.airflow.exchanges import exchange_dags

globals().update(exchange_dags())
