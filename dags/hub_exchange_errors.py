"""Exchanges that cannot become Airflow DAGs, as this
DAG file's import error (hub.airflow.exchanges); hub_exchanges.py builds the others."""

from hub.airflow.exchanges import report_invalid_exchanges

report_invalid_exchanges()
