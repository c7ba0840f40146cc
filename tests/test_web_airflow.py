"""The dashboard inside Airflow's API server signs no one in: Airflow's user and permissions
decide (hub.web.airflow_auth). Airflow's Simple auth manager, real JWTs, the real app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.airflow

USERS = "viv:viewer,olli:user,ada:admin"


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    import os

    from test_airflow import airflow_home as make_home

    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = USERS
    return make_home.__wrapped__(tmp_path_factory)


@pytest.fixture
def api(hub_env, airflow_home):
    """Airflow's API server app with the hub mounted; the hub opens from the environment
    (``hub_env``: its store, key and sandboxes) as in production."""
    from airflow.api_fastapi.app import create_app

    return TestClient(create_app(), follow_redirects=False)


def token(name: str, role: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=name, role=role))


def test_no_airflow_token_goes_to_airflows_sign_in_and_back(api):
    answer = api.get("/hub/indicators")
    assert answer.status_code == 303
    where = answer.headers["location"]
    assert where.startswith("/auth/login") and "next=" in where and "indicators" in where
    assert api.get("/hub/login").headers["location"].endswith("/hub/")  # no second sign-in
    api.cookies.set("_token", "forged.token.value")
    assert api.get("/hub/").status_code == 303
    assert api.get("/hub/metrics").status_code == 401  # protected by default


def test_airflows_roles_are_the_hubs_roles(api, monkeypatch):
    api.cookies.set("_token", token("viv", "viewer"))
    page = api.get("/hub/")
    assert page.status_code == 200 and "airflow:viv" in page.text and "Sign in" not in page.text
    assert api.get("/hub/indicators").status_code == 403  # operators only
    assert api.get("/hub/metrics").status_code == 200
    api.cookies.set("_token", token("olli", "user"))  # may run DAGs: an operator
    page = api.get("/hub/indicators")
    assert page.status_code == 200 and "airflow:olli" in page.text
    # a script sends the token as a bearer token, as to Airflow's own API
    bare = TestClient(api.app, follow_redirects=False)
    bearer = {"Authorization": f"Bearer {token('viv', 'viewer')}"}
    assert bare.get("/hub/", headers=bearer).status_code == 200
    # Simple's manager grants every view to everyone: auditors are the ones listed
    audit = "/hub/audit"
    api.cookies.set("_token", token("viv", "viewer"))
    assert api.get(audit).status_code == 403
    monkeypatch.setenv("HUB_AIRFLOW_AUDITORS", "viv")
    assert api.get(audit).status_code == 200


def test_role_mapping_follows_the_auth_managers_answers():
    from hub.web.airflow_auth import AUDIT_VIEW, HUB_VIEW, role_of

    class Manager:
        def __init__(self, views, dag_put):
            self.views, self.dag_put = views, dag_put

        def is_authorized_custom_view(self, *, method, resource_name, user):
            return (method, resource_name) in self.views

        def is_authorized_dag(self, *, method, user):
            return self.dag_put and method == "PUT"

    class User:
        def get_name(self):
            return "dpo"

    view, post, audit = ("GET", HUB_VIEW), ("POST", HUB_VIEW), ("GET", AUDIT_VIEW)
    assert role_of(Manager(set(), True), User()) is None
    assert role_of(Manager({view}, True), User()) == "viewer"
    assert role_of(Manager({view, post}, True), User()) == "operator"
    assert role_of(Manager({view, post}, False), User()) == "viewer"
    assert role_of(Manager({view, audit}, False), User()) == "auditor"
