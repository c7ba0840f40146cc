"""The hub's Airflow DAGs, carried by the ``hub`` package (install the ``airflow`` extra).

The DAGs are built by :mod:`hub.airflow.exchanges` (one per declared exchange) and
:mod:`hub.airflow.health` (``hub_health``). An Airflow DAG folder holds only the short files
of :data:`DAG_FILES`, which import them: the repository's ``dags/`` is such a folder, ``hub
demo`` writes one into its data folder, and a deployment writes its own with
:func:`write_dag_folder` (or copies ``dags/``). Importing this package imports no Airflow.
"""

from __future__ import annotations

from pathlib import Path

#: the files of a DAG folder, by name: each imports the DAGs it declares from this package
DAG_FILES = {
    "hub_exchanges.py": '''"""The hub's DAGs: one per declared exchange (hub.airflow.exchanges)."""

from hub.airflow.exchanges import exchange_dags

globals().update(exchange_dags())
''',
    "hub_exchange_errors.py": '''"""Exchanges that cannot become Airflow DAGs, as this
DAG file's import error (hub.airflow.exchanges); hub_exchanges.py builds the others."""

from hub.airflow.exchanges import report_invalid_exchanges

report_invalid_exchanges()
''',
    "hub_health.py": '''"""The hub's alerting DAG, hub_health (hub.airflow.health)."""

from hub.airflow.health import health_dag

hub_health = health_dag()
''',
}


def write_dag_folder(folder: Path) -> Path:
    """Write :data:`DAG_FILES` into ``folder`` (made if missing); the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DAG_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
