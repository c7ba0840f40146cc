"""The dashboard (:mod:`hub.web.app`), its Airflow plugin and the metrics endpoint."""
