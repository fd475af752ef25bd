"""Matrix rows for Settings > API keys: every URL × caller, including acting on someone else's
key, a key of another org, and a guessed key id."""

from tests.keys.conftest import make_key
from tests.matrix import LOGIN, Route, expect


def _key_of(role: str):
    """URL kwargs for a key created by the `role` user of the matrix org."""

    def kwargs(ctx):
        key = make_key(ctx.organization, ctx.users[role], name=f"{role}-service").key
        return {"slug": ctx.organization.slug, "key_id": key.public_id}

    return kwargs


def _admin_scoped_key_of(role: str):
    """URL kwargs for an admin-scoped key (it acts with its creator's role) made by `role`."""

    def kwargs(ctx):
        creator = ctx.users[role]
        key = make_key(ctx.organization, creator, name=f"{role}-automation", scopes=["admin"]).key
        return {"slug": ctx.organization.slug, "key_id": key.public_id}

    return kwargs


def _key_of_other_org(ctx):
    outsider = ctx.users["outsider"]
    other = outsider.memberships.get().organization
    key = make_key(other, outsider, name="other-org-service").key
    return {"slug": ctx.organization.slug, "key_id": key.public_id}


def _matrix_key_under_outsiders_org(ctx):
    """The outsider puts this org's key id into their own org's URL."""
    key = make_key(ctx.organization, ctx.users["owner"]).key
    other = ctx.users["outsider"].memberships.get().organization
    return {"slug": other.slug, "key_id": key.public_id}


def _guessed_id(ctx):
    return {"slug": ctx.organization.slug, "key_id": "key_0000000000000000000A"}


def _valid_key(ctx):
    return {"name": "new-service", "scopes": ["gateway"], "rate_limit_rpm": "60"}


def _edit(ctx):
    return {"name": "renamed-service", "scopes": ["gateway"]}


def _grace(ctx):
    return {"grace": "1h"}


ROUTES = [
    Route("keys:list", expect(LOGIN, 404, 403, 200, 200, 200)),
    Route(
        "keys:list",
        expect(LOGIN, 404, 403, 200, 200, 200),
        query="status=revoked&mine=on",
        label="(filtered)",
    ),
    Route("keys:list", expect(LOGIN, 404, 403, 200, 200, 200), htmx=True, label="(htmx)"),
    Route("keys:create", expect(LOGIN, 404, 403, 200, 200, 200)),
    Route("keys:create", expect(LOGIN, 404, 403, 200, 200, 200), htmx=True, label="(dialog)"),
    # Success renders the one-time secret (200): it is never stored for a redirect.
    Route("keys:create", expect(LOGIN, 404, 403, 200, 200, 200), method="POST", data=_valid_key),
    Route(
        "keys:create",
        expect(LOGIN, 404, 403, 400, 200, 200),
        method="POST",
        data=lambda ctx: {"name": "automation", "scopes": ["gateway", "admin"]},
        label="(admin scope)",
    ),
    Route(
        "keys:create",
        expect(LOGIN, 404, 403, 400, 400, 400),
        method="POST",
        data=lambda ctx: {"name": "", "scopes": ["gateway"]},
        label="(invalid)",
    ),
    Route("keys:detail", expect(LOGIN, 404, 403, 200, 200, 200), kwargs=_key_of("owner")),
    Route(
        "keys:detail",
        expect(LOGIN, 404, 403, 200, 200, 200),
        kwargs=_key_of("owner"),
        query="edit=1",
        htmx=True,
        label="(edit form)",
    ),
    Route(
        "keys:detail",
        expect(LOGIN, 404, 403, 404, 404, 404),
        kwargs=_key_of_other_org,
        label="(key of another org)",
    ),
    Route(
        "keys:detail",
        expect(LOGIN, 404, 403, 404, 404, 404),
        kwargs=_guessed_id,
        label="(guessed id)",
    ),
    Route(
        "keys:detail",
        expect(LOGIN, 404, 404, 404, 404, 404),
        kwargs=_matrix_key_under_outsiders_org,
        label="(this org's key in another org's URL)",
    ),
    Route(
        "keys:update",
        expect(LOGIN, 404, 403, 403, 302, 302),
        method="POST",
        kwargs=_key_of("member"),
        data=_edit,
    ),
    Route(
        "keys:update",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        kwargs=_key_of("member"),
        data=_edit,
        htmx=True,
        label="(htmx)",
    ),
    Route(
        "keys:update",
        expect(LOGIN, 404, 403, 403, 302, 302),
        kwargs=_key_of("owner"),
        label="(GET opens the form)",
    ),
    Route(
        "keys:update",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=_key_of_other_org,
        data=_edit,
        label="(key of another org)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 200, 200, 200),
        kwargs=_key_of("member"),
        label="(own or managed key)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 200, 200, 200),
        method="POST",
        kwargs=_key_of("member"),
        data=_grace,
        label="(member's key)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        kwargs=_key_of("admin"),
        data=_grace,
        label="(someone else's key)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 403, 200, 200),
        kwargs=_key_of("owner"),
        label="(someone else's key, confirm page)",
    ),
    # Rotating hands over a secret that acts as the creator: an Admin may not take an Owner's.
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 403, 403, 200),
        method="POST",
        kwargs=_admin_scoped_key_of("owner"),
        data=_grace,
        label="(an Owner's admin-scoped key)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        kwargs=_admin_scoped_key_of("admin"),
        data=_grace,
        label="(an Admin's admin-scoped key)",
    ),
    Route(
        "keys:update",
        expect(LOGIN, 404, 403, 403, 400, 302),
        method="POST",
        kwargs=_key_of("owner"),
        data=lambda ctx: {"name": "owner-service", "scopes": ["gateway", "admin"]},
        label="(add the admin scope to an Owner's key)",
    ),
    Route(
        "keys:rotate",
        expect(LOGIN, 404, 403, 404, 404, 404),
        method="POST",
        kwargs=_guessed_id,
        data=_grace,
        label="(guessed id)",
    ),
    Route(
        "keys:revoke",
        expect(LOGIN, 404, 403, 200, 200, 200),
        kwargs=_key_of("member"),
        label="(confirm page)",
    ),
    Route(
        "keys:revoke",
        expect(LOGIN, 404, 403, 302, 302, 302),
        method="POST",
        kwargs=_key_of("member"),
        label="(member's key)",
    ),
    Route(
        "keys:revoke",
        expect(LOGIN, 404, 403, 403, 302, 302),
        method="POST",
        kwargs=_key_of("owner"),
        label="(someone else's key)",
    ),
    Route(
        "keys:revoke",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        kwargs=_key_of("owner"),
        htmx=True,
        label="(someone else's key, htmx)",
    ),
    Route(
        "keys:revoke",
        expect(LOGIN, 404, 403, 404, 404, 404),
        method="POST",
        kwargs=_key_of_other_org,
        label="(key of another org)",
    ),
]
