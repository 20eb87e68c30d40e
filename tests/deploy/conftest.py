"""``deploy/serve.py`` with two replicas serving the fixture lessons, shared by the deploy tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.deployment import FIXTURES, Deployment, served


@pytest.fixture(scope="package")
def deployment(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """``deploy/serve.py`` with two replicas serving the fixture lessons; always stopped."""
    run_dir = tmp_path_factory.mktemp("deploy")
    env = {"SQLECHO_LESSONS": str(FIXTURES), "SQLECHO_POOL_SIZE": "1"}
    with served(nginx, run_dir, env) as deployment:
        yield deployment
