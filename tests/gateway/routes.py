"""Matrix rows for the JSON API at /v1/ and the gateway protocol at /agentcc/: gateway routes
take a service token, so every session caller, signed in or not, gets the 401 envelope; the
OpenAPI document is public."""

from tests.matrix import Route, expect

TOKEN_ONLY = expect(401, 401, 401, 401, 401, 401)


def no_kwargs(ctx):
    return {}


ROUTES = [
    Route("v1:openapi-json", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    # The API's root has no page (the reference is at /v1/docs): its 404 is JSON, like any path;
    # ninja's own root view (v1:api-root) sits behind api-home at the same URL.
    Route("api-home", expect(404, 404, 404, 404, 404, 404), kwargs=no_kwargs),
    Route("v1:api-root", expect(404, 404, 404, 404, 404, 404), kwargs=no_kwargs),
    Route(
        "api-unknown-path",
        expect(404, 404, 404, 404, 404, 404),
        kwargs=lambda ctx: {"rest": "no/such/endpoint"},
    ),
    Route("v1:gateway-configs", TOKEN_ONLY, kwargs=no_kwargs),
    Route("v1:gateway-keys", TOKEN_ONLY, kwargs=no_kwargs),
    Route("v1:gateway-keys", TOKEN_ONLY, kwargs=no_kwargs, query="since=x", label="(cursor)"),
    Route("v1:gateway-spend", TOKEN_ONLY, kwargs=no_kwargs, query="period=current"),
    Route("v1:gateway-logs", TOKEN_ONLY, kwargs=no_kwargs, method="POST"),
    # The open-source gateway's protocol: the same tokens, the same 401 for any session.
    Route("agentcc:org-configs-bulk", TOKEN_ONLY, kwargs=no_kwargs),
    Route("agentcc:api-keys-bulk", TOKEN_ONLY, kwargs=no_kwargs),
    Route("agentcc:spend-summary", TOKEN_ONLY, kwargs=no_kwargs, query="period=monthly"),
    Route("agentcc:webhook-logs", TOKEN_ONLY, kwargs=no_kwargs, method="POST"),
]
