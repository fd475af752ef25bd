"""Matrix rows for the site-wide and organization routes."""

from tests.matrix import LOGIN, Route, expect


def no_kwargs(ctx):
    return {}


ROUTES = [
    Route("healthz", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route("admin:index", expect(302, 302, 302, 302, 302, 302), kwargs=no_kwargs),
    Route("home", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs),
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
