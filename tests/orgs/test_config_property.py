"""Property tests: malformed documents and values thrown at the validator, the service and the
page never cause a 500, always come back as errors naming a path, and leave the version alone."""

import html
import json
import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orgs import provider_hosts, selectors, services
from orgs.config_schema import SECTIONS, ConfigInvalid, OrgConfig, validate_document
from orgs.forms import SECTION_FORMS
from prism_site.actor import Actor
from tests.orgs.test_config_schema import FULL_DOCUMENT

# A path: a key, then `[index]`, `.key` or `["odd key"]` steps; then the message.
QUOTED = r'\["(?:[^"\\]|\\.)*"\]'
PATH = re.compile(rf"^([A-Za-z0-9_-]+|{QUOTED})(\[\d+\]|\.[A-Za-z0-9_-]+|{QUOTED})*: \S")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The validator is where a bad path would go unnamed, and it is cheap (no database): it gets the
# most examples. The pages only carry a post to it and its errors back, at a request (~0.1 s)
# an example, so 25 each still reach the section forms, htmx or not, saved and refused.
VALIDATOR_FUZZ = settings(FUZZ, max_examples=300)
PAGE_FUZZ = settings(FUZZ, max_examples=25)

awkward_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\ud800",
            "…",
            "sk-…abcd",
            "10.0.0.0/8",
            "https://10.0.0.1",
            "NaN",
            "1e400",
            "-1",
            "0",
            "1.005",
            "true",
            "null",
            "é" * 300,
        ]
    ),
)
# Browsers cannot send lone surrogates in a form post (the JSON editor gets them as \ud800).
form_text = awkward_text.filter(lambda text: "\ud800" not in text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    awkward_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(awkward_text, children, max_size=4),
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "name",
        "type",
        "base_url",
        "api_key",
        "models",
        "enabled",
        "weight",
        "timeout_seconds",
        "strategy",
        "default_model",
        "fallbacks",
        "retry",
        "max_retries",
        "mode",
        "ttl_seconds",
        "rpm",
        "limit",
        "period",
        "alert_thresholds",
        "action",
        "allow",
        "deny",
        "bogus",
    ]
)


@st.composite
def mutated_documents(draw):
    """A valid document with one value somewhere replaced, removed or added."""
    document = json.loads(json.dumps(FULL_DOCUMENT))
    document["providers"][0]["api_key"] = "sk-property-test-key-0000"
    document["providers"][1]["api_key"] = None
    section = draw(st.sampled_from([*SECTIONS, "extra"]))
    if section == "providers":
        target = document["providers"][draw(st.integers(0, 1))]
    elif section == "extra":
        target = document
    else:
        target = document[section]
        if section == "routing" and draw(st.booleans()):
            target = target["retry"]
    target[draw(field_names)] = draw(json_values)
    return document


documents = st.one_of(json_values, mutated_documents())


@pytest.fixture
def public_dns(monkeypatch):
    """Every host name resolves to a public address, so the fuzz never waits on DNS."""
    monkeypatch.setattr(provider_hosts, "resolve", lambda host: ["93.184.215.14"])


def assert_errors_name_paths(errors):
    assert errors
    for error in errors:
        assert PATH.match(str(error)), str(error)


@VALIDATOR_FUZZ
@given(document=documents)
def test_the_validator_accepts_or_names_every_bad_path(document):
    try:
        config = validate_document(document)
    except ConfigInvalid as invalid:
        assert_errors_name_paths(invalid.problems)
    else:
        assert isinstance(config, OrgConfig)


@FUZZ
@given(document=documents)
def test_the_service_saves_or_refuses_without_touching_the_version(
    organization, admin, public_dns, document
):
    before = selectors.config_current(organization).number
    try:
        version = services.config_save(
            organization=organization, actor=Actor(admin), base_version=before, document=document
        )
    except ConfigInvalid as invalid:
        event("refused")
        assert_errors_name_paths(invalid.problems)
        assert selectors.config_current(organization).number == before
    else:
        assert version is None or version.number == before + 1


def _errors_in(page: str) -> list[str]:
    found = re.findall(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    found += re.findall(r'<div class="alert alert-error" role="alert">(.*?)</div>', page, re.S)
    texts = []
    for chunk in found:
        texts += [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", chunk, re.S)] or [
            html.unescape(chunk)
        ]
    return [text.strip() for text in texts]


# Plausible values per form field, so that some fuzzed posts are valid and really save.
PLAUSIBLE = {
    "enabled": ["on", ""],
    "limit": ["", "100", "99.50", "$1,000"],
    "period": ["daily", "total"],
    "alert_thresholds": ["0.5, 0.8", "50%, 100%", ""],
    "action": ["block", "warn"],
    "mode": ["exact", "semantic"],
    "ttl_seconds": ["60"],
    "max_entries": ["100"],
    "rpm": ["", "60"],
    "tpm": ["", "10,000"],
    "per_key_rpm": [""],
    "per_key_tpm": ["5"],
    "strategy": ["priority", "weighted"],
    "default_model": ["", "gpt-4o"],
    "fallbacks": ["", "gpt-4o: gpt-4o-mini, claude-sonnet-4"],
    "retry_max_retries": ["2"],
    "retry_backoff_ms": ["100"],
    "timeout_seconds": ["30"],
    "allow": ["", "10.0.0.0/8"],
    "deny": ["", "203.0.113.7"],
    "message": ["", "fuzz"],
    "name": ["openai", "groq-2"],
    "type": ["openai", "groq"],
    "base_url": ["", "https://api.example.com/v1"],
    "api_key": ["", "sk-property-test-key-0000"],
    "models": ["gpt-4o\ngpt-4o-mini", ""],
    "weight": ["1", "0"],
    "original_name": [""],
}


def form_value(name):
    return st.one_of(st.sampled_from(PLAUSIBLE.get(name, [""])), form_text)


section_posts = st.sampled_from(sorted(SECTION_FORMS)).flatmap(
    lambda section: st.tuples(
        st.just(section),
        st.fixed_dictionaries(
            {
                name: form_value(name)
                for name in SECTION_FORMS[section].base_fields
                if name != "base_version"
            }
        ),
    )
)


def assert_saved_or_refused(response, *, before, after, htmx):
    """A save makes exactly the next version; anything else shows errors naming a path."""
    nothing_changed = "Nothing changed" in response.headers.get("HX-Trigger", "") or (
        not htmx and response.status_code == 302 and after == before
    )
    event("saved" if after != before else "unchanged" if nothing_changed else "refused")
    if after != before:
        assert after == before + 1
        assert response.status_code == (200 if htmx else 302)
    elif not nothing_changed:
        assert response.status_code == (200 if htmx else 400)
        assert_errors_name_paths(_errors_in(response.content.decode()))
    assert "sk-property-test-key-0000" not in response.content.decode()


@PAGE_FUZZ
@given(post=section_posts, htmx=st.booleans())
def test_section_forms_answer_with_path_named_errors_never_a_500(
    client, organization, admin, public_dns, post, htmx
):
    section, data = post
    client.force_login(admin)
    before = selectors.config_current(organization).number
    response = client.post(
        reverse("orgs:config_section", args=[organization.slug, section]),
        {**data, "base_version": before},
        headers={"HX-Request": "true"} if htmx else {},
    )
    after = selectors.config_current(organization).number
    assert_saved_or_refused(response, before=before, after=after, htmx=htmx)


@PAGE_FUZZ
@given(
    document=st.one_of(documents.map(lambda d: json.dumps(d)), st.text(max_size=40)),
    htmx=st.booleans(),
)
def test_the_json_editor_answers_with_path_named_errors_never_a_500(
    client, organization, admin, public_dns, document, htmx
):
    client.force_login(admin)
    before = selectors.config_current(organization).number
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"base_version": before, "document": document},
        headers={"HX-Request": "true"} if htmx else {},
    )
    after = selectors.config_current(organization).number
    assert_saved_or_refused(response, before=before, after=after, htmx=htmx)


@PAGE_FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            name: form_value(name)
            for name in (
                "name",
                "type",
                "base_url",
                "api_key",
                "models",
                "enabled",
                "weight",
                "timeout_seconds",
                "original_name",
            )
        }
    ),
    htmx=st.booleans(),
)
def test_the_provider_form_answers_with_path_named_errors_never_a_500(
    client, organization, admin, public_dns, data, htmx
):
    client.force_login(admin)
    before = selectors.config_current(organization).number
    response = client.post(
        reverse("orgs:provider_save", args=[organization.slug]),
        {**data, "base_version": before},
        headers={"HX-Request": "true"} if htmx else {},
    )
    after = selectors.config_current(organization).number
    assert_saved_or_refused(response, before=before, after=after, htmx=htmx)
