"""Matrix rows for the site-wide and organization routes."""

from prism_site.actor import Actor
from tests.matrix import LOGIN, Route, expect


def no_kwargs(ctx):
    return {}


ROUTES = [
    Route("healthz", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    # Signed in without staff status: refused, not sent round the sign-in page.
    Route("admin:index", expect(302, 403, 403, 403, 403, 403), kwargs=no_kwargs),
    # Every caller here belongs to exactly one org: home takes them straight to it.
    Route("home", expect(LOGIN, 302, 302, 302, 302, 302), kwargs=no_kwargs),
    Route("org_list", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route("org_new", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route(
        "org_new",
        expect(LOGIN, 200, 200, 200, 200, 200),
        kwargs=no_kwargs,
        method="POST",
        label="(invalid form)",
    ),
    Route("orgs:overview", expect(LOGIN, 404, 200, 200, 200, 200)),
    Route("orgs:settings", expect(LOGIN, 404, 403, 200, 200, 200)),
    Route(
        "orgs:rename",
        expect(LOGIN, 404, 403, 403, 403, 302),
        method="POST",
        data=lambda ctx: {"name": "Renamed"},
    ),
    Route(
        "orgs:delete",
        expect(LOGIN, 404, 403, 403, 403, 400),
        method="POST",
        data=lambda ctx: {"confirm_name": "wrong"},
    ),
    Route("orgs:audit", expect(LOGIN, 404, 403, 403, 200, 200)),
    Route("orgs:audit_export", expect(LOGIN, 404, 403, 403, 200, 200)),
    Route("accounts:signup", expect(200, 302, 302, 302, 302, 302), kwargs=no_kwargs),
    Route("accounts:login", expect(200, 302, 302, 302, 302, 302), kwargs=no_kwargs),
    Route("accounts:logout", expect(302, 302, 302, 302, 302, 302), kwargs=no_kwargs, method="POST"),
    Route("accounts:password_reset", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route("accounts:password_reset_done", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route(
        "accounts:password_reset_confirm",
        expect(200, 200, 200, 200, 200, 200),
        kwargs=lambda ctx: {"uidb64": "MQ", "token": "bad-token"},
    ),
    Route(
        "accounts:password_reset_complete", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs
    ),
    Route("accounts:password_change", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route(
        "accounts:password_change_done", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs
    ),
]


# -- Settings > Organization: config sections, providers, JSON, history, billing ---------------


def _current_version(ctx) -> int:
    from orgs.models import Organization
    from orgs.selectors import config_current

    return config_current(Organization.objects.get(pk=ctx.organization.pk)).number


def _with_provider(ctx) -> dict:
    from orgs.services import config_provider_save

    config_provider_save(
        organization=ctx.organization,
        actor=Actor(ctx.users["owner"]),
        base_version=None,
        original_name=None,
        values={"name": "openai", "type": "openai", "api_key": "sk-matrix-provider-key-0001"},
    )
    return {"slug": ctx.organization.slug, "name": "openai"}


def _with_second_version(ctx) -> dict:
    from orgs.services import config_section_update

    config_section_update(
        organization=ctx.organization,
        actor=Actor(ctx.users["owner"]),
        base_version=None,
        section="caching",
        values={"enabled": True},
    )
    return {"slug": ctx.organization.slug, "number": 1}


BUDGETS_FORM = {
    "base_version": 1,
    "enabled": "on",
    "limit": "250",
    "period": "monthly",
    "alert_thresholds": "0.5, 0.8, 1",
    "action": "block",
}
CACHING_ON_JSON = '{"caching": {"enabled": true}}'
PROVIDER_FORM = {
    "base_version": 1,
    "name": "anthropic",
    "type": "anthropic",
    "models": "claude-sonnet-4",
    "enabled": "on",
    "weight": "1",
    "timeout_seconds": "60",
}

ROUTES += [
    Route(
        "orgs:settings",
        expect(LOGIN, 404, 403, 200, 200, 200),
        query="edit=budgets",
        label="(edit form; read-only for Members)",
    ),
    Route(
        "orgs:settings",
        expect(LOGIN, 404, 403, 403, 403, 200),
        query="section=billing",
        htmx=True,
        label="(billing section, Owners only)",
    ),
    Route(
        "orgs:config_section",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        kwargs=lambda ctx: {"slug": ctx.organization.slug, "section": "budgets"},
        data=lambda ctx: BUDGETS_FORM,
    ),
    Route(
        "orgs:config_section",
        expect(LOGIN, 404, 403, 403, 302, 302),
        method="POST",
        kwargs=lambda ctx: {"slug": ctx.organization.slug, "section": "budgets"},
        data=lambda ctx: BUDGETS_FORM,
        label="(without htmx)",
    ),
    Route(
        "orgs:config_section",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=lambda ctx: {"slug": ctx.organization.slug, "section": "nonsense"},
        data=lambda ctx: BUDGETS_FORM,
        label="(unknown section)",
    ),
    Route(
        "orgs:provider_save",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        data=lambda ctx: PROVIDER_FORM,
    ),
    Route(
        "orgs:provider_toggle",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        kwargs=_with_provider,
        data=lambda ctx: {"base_version": _current_version(ctx), "enabled": "false"},
    ),
    Route(
        "orgs:provider_remove",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        kwargs=_with_provider,
        data=lambda ctx: {"base_version": _current_version(ctx)},
    ),
    Route("orgs:config_json", expect(LOGIN, 404, 403, 200, 200, 200)),
    Route(
        "orgs:config_document_edit",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        data=lambda ctx: {"base_version": 1, "document": CACHING_ON_JSON},
    ),
    Route("orgs:config_history", expect(LOGIN, 404, 403, 200, 200, 200)),
    Route(
        "orgs:config_version",
        expect(LOGIN, 404, 403, 200, 200, 200),
        kwargs=lambda ctx: {"slug": ctx.organization.slug, "number": 1},
    ),
    Route(
        "orgs:config_version",
        expect(LOGIN, 404, 403, 404, 404, 404),
        kwargs=lambda ctx: {"slug": ctx.organization.slug, "number": 99},
        label="(no such version)",
    ),
    Route(
        "orgs:config_restore",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        htmx=True,
        kwargs=_with_second_version,
        data=lambda ctx: {"base_version": 2},
    ),
    Route(
        "orgs:billing",
        expect(LOGIN, 404, 403, 403, 403, 200),
        method="POST",
        htmx=True,
        data=lambda ctx: {"billing_email": "billing@acme.test"},
    ),
]
