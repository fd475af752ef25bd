"""`make run` ends with what a newcomer needs: the demo logins and the dashboard's address, each
printed once, as the last lines before the server serves."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from usage.management.commands.demo_runserver import Command as DemoRunserver

pytestmark = pytest.mark.django_db

LOGINS = [
    "Demo logins, password prism-demo-password:",
    "  Owner   owner@demo.prism.test",
    "  Admin   admin@demo.prism.test",
    "  Member  member@demo.prism.test",
    "  Viewer  viewer@demo.prism.test",
]


def server_ready_output(addr: str = "127.0.0.1", port: int = 8000) -> str:
    """What demo_runserver prints once its socket listens (runserver's banner, then ours)."""
    out = StringIO()
    command = DemoRunserver(stdout=out)
    command.addr, command._raw_ipv6, command.protocol = addr, False, "http"
    command.on_bind(port)
    return out.getvalue()


def test_the_logins_and_the_url_are_printed_once_and_the_url_last():
    out = StringIO()
    call_command("demo_data", requests_per_day=0, stdout=out)
    lines = (out.getvalue() + server_ready_output()).splitlines()
    for line in LOGINS:
        assert lines.count(line) == 1, line
    assert lines[-1] == "Dashboard: http://127.0.0.1:8000/"
    assert lines[-6:-1] == LOGINS
    assert "Starting WSGI development server at http://127.0.0.1:8000/" in lines


def test_a_server_on_every_interface_points_at_this_machine():
    every_interface = "0.0.0.0"  # noqa: S104 - what HOST=0.0.0.0 passes to the server
    last = server_ready_output(every_interface, 8103).splitlines()[-1]
    assert last == "Dashboard: http://127.0.0.1:8103/"


def test_make_run_runs_the_system_checks_once_and_serves_with_the_logins():
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    recipe = makefile.split("\nrun: setup\n")[1].split("\n\n")[0]
    commands = re.findall(r"manage\.py (\w+)([^;&\n]*)", recipe)
    assert [name for name, _ in commands] == [
        "migrate",
        "demo_data",
        "db_worker",  # --batch: the emails demo_data queued, before the server's lines
        "db_worker",
        "demo_runserver",
    ]
    # migrate runs the checks (and prints their warnings); every later command skips them.
    assert all("--skip-checks" in arguments for _, arguments in commands[1:])
