"""Matrix rows for the budget alerts page: Owners and Admins only."""

from tests.matrix import LOGIN, Route, expect

ROUTES = [
    Route("budget_alerts:list", expect(LOGIN, 404, 403, 403, 200, 200)),
]
