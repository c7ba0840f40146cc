"""The dashboard inside Airflow: an Airflow 3 plugin that mounts the hub's FastAPI app into
Airflow's API server under ``/hub`` and adds "Integration hub" to Airflow's navigation
(embedded in Airflow's own page). Registered through the ``airflow.plugins`` entry point.

The app opens the hub's store on its first request, not when Airflow loads plugins, with
the keys and settings the DAGs use (:func:`hub.airflow.secrets.open_hub`). It signs no one
in: Airflow's user and permissions decide who sees what (:mod:`hub.web.airflow_auth`);
Airflow does not protect a plugin's FastAPI endpoints itself, so every page checks.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from hub.web.app import create_app


def _open_hub():
    from hub.airflow.secrets import open_hub

    return open_hub()


URL_PREFIX = "/hub"


class HubAirflowPlugin(AirflowPlugin):
    name = "integration_hub"
    fastapi_apps = [
        {
            "app": create_app(_open_hub, airflow_signin=True),
            "url_prefix": URL_PREFIX,
            "name": "Integration hub dashboard",
        }
    ]
    external_views = [
        {
            "name": "Integration hub",
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "url_route": "integration-hub",
        }
    ]
