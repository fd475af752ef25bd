"""Benchmarks are named after what they measure (keys_inventory.py), not test_*.py: collect
every module in this folder, so `make bench` (pytest -m bench -s tests) finds them."""

import pytest
from django.db import transaction

# locustfile.py runs in Locust's own process (gevent), started by load_mixed.py.
HELPERS = {"conftest.py", "__init__.py", "bulk_data.py", "ingest_data.py", "locustfile.py"}


def pytest_collect_file(file_path, parent):
    if (
        file_path.suffix == ".py"
        and file_path.name not in HELPERS
        and not file_path.name.startswith("test_")
        # A module named on the command line is collected by pytest itself; once is enough.
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def bench_db(db):
    """The test's database transaction, rolled back at the end without the deferred foreign-key
    check a test normally ends with: over a million bulk rows it takes minutes and proves nothing
    about the pages measured. The rollback drops every row the benchmark built."""
    yield
    transaction.set_rollback(True)
