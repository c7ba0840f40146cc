"""Operations: the health of exchanges, alerts and metrics, shared by the dashboard, the
command line and Airflow."""

#: an exchange is stale when it has not succeeded for this many times its schedule
DEFAULT_STALE_FACTOR = 2.0
