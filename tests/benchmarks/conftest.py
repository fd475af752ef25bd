"""Benchmarks are named after what they measure (keys_inventory.py), not test_*.py: collect
every module in this folder, so `make bench` (pytest -m bench -s tests/benchmarks) finds them."""

import pytest


def pytest_collect_file(file_path, parent):
    if (
        file_path.suffix == ".py"
        and file_path.name not in {"conftest.py", "__init__.py"}
        and not file_path.name.startswith("test_")
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
