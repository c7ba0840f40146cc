"""Operations: the health of exchanges, alerts, metrics (shared by the dashboard, the CLI and Airflow)."""
