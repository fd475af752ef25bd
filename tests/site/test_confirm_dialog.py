"""Every confirmation is the site's one dialog: no page or script calls the browser's confirm(),
each page carries the dialog once, and without JavaScript a confirmed form is a plain post."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from orgs.services import config_section_update
from prism_site.actor import Actor

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def test_nothing_calls_the_browsers_confirm():
    sources = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("static/js/*.js")]
    callers = [
        str(path.relative_to(ROOT))
        for path in sources
        if re.search(r"(?<![\w:-])confirm\(", path.read_text())
    ]
    assert sources and callers == []


def test_a_page_carries_the_dialog_once_and_each_confirmed_form_still_posts(
    client, organization, owner
):
    config_section_update(
        organization=organization,
        actor=Actor(owner),
        base_version=None,
        section="budgets",
        values={"enabled": True, "limit": 100, "period": "monthly", "action": "block"},
    )
    client.force_login(owner)
    page = client.get(reverse("orgs:settings", args=[organization.slug])).content.decode()
    assert page.count('id="confirm-dialog"') == 1
    forms = re.findall(r"<form[^>]*hx-confirm=[^>]*>", page)
    assert forms
    for form in forms:
        assert 'method="post"' in form and 'action="/o/' in form
        assert "data-confirm-label=" in form
