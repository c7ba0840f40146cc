"""Operations: the health of exchanges, alerts and metrics, shared by the dashboard, the
command line and Airflow."""
