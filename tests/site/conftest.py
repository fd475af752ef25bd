"""The shared organization the input fuzz runs against, built once per fuzz module."""

import logging

import pytest
from django.db import transaction

from tests.site.crawl import crawl
from tests.site.fuzz import FULL, TALLY, as_returning_visitors, build_world, rolled_back


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, request):
    """One organization with a user per role, keys, invitations and config, built once."""
    # Thousands of refusals would each log a warning with a traceback; failures are collected.
    logging.disable(logging.CRITICAL)
    TALLY.requests = TALLY.followed = TALLY.failed = 0
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            built = build_world()
            # A module may crawl as fewer callers (CRAWLED): each crawl is a few hundred pages.
            crawled = getattr(request.module, "CRAWLED", None)
            for caller, client in built.clients.items():
                if crawled is not None and caller not in crawled:
                    continue
                seeds = built.seeds[caller]
                built.sites[caller] = rolled_back(lambda c=client, s=seeds: crawl(c, s))
            as_returning_visitors(built)
            yield built
            transaction.set_rollback(True)
    finally:
        logging.disable(logging.NOTSET)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(
            f"\n{request.module.__name__}: {TALLY.requests} requests "
            f"({TALLY.followed} reloads after an accepted write), {TALLY.failed} failed"
            f"{' (PRISM_FUZZ=full)' if FULL else ''}"
        )
