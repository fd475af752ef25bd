"""Database connections: kept open between requests by default, checked before reuse."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

import prism_site.settings

SETTINGS_FILE = Path(prism_site.settings.__file__)


def load_settings(monkeypatch, **env) -> dict:
    """Evaluate settings.py afresh under this environment (the loaded settings stay as they are)."""
    for name in ("DATABASE_CONN_MAX_AGE", *env):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    "url", ["postgres://prism@127.0.0.1:5432/prism", "sqlite:////tmp/prism.sqlite3"]
)
def test_connections_persist_with_health_checks_by_default(monkeypatch, url):
    database = load_settings(monkeypatch, DATABASE_URL=url)["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_conn_max_age_zero_opens_a_connection_per_request(monkeypatch):
    database = load_settings(monkeypatch, DATABASE_CONN_MAX_AGE="0")["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["CONN_HEALTH_CHECKS"] is True


def test_conn_max_age_that_is_not_a_number_names_the_variable(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_CONN_MAX_AGE: must be a whole"):
        load_settings(monkeypatch, DATABASE_CONN_MAX_AGE="a minute")
