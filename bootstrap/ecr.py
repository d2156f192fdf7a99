"""The registry adapter (`stacks/ecr.py`, shared with the deploy workflow) opened the bootstrap
way: on the user's AWS credentials, with one-line errors that carry their exit codes
(`backend.aws_errors`). `status`, `promote`/`rollback --local` and `destroy` open it here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.ecr import Repository


def repository(client: Any, name: str) -> Repository:
    """The adapter on a boto3 ECR client."""
    from bootstrap.backend import aws_errors
    from stacks.ecr import Repository

    return Repository(client, name, guard=aws_errors)


def opener(region: str, session: Any = None) -> Callable[[str], Repository]:
    """Repository name -> adapter. The AWS session is made at the first call, so a missing or
    broken AWS configuration is that call's error, not the caller's."""

    def open_repository(name: str) -> Repository:
        from bootstrap.backend import aws_session

        client = (session or aws_session(region)).client("ecr", region_name=region)
        return repository(client, name)

    return open_repository
