"""The registry as a status source: what `status`, `promote` and `rollback` read of ECR.

The reading itself is `stacks.ecr.Repository` (the one ECR adapter, shared with the deploy
workflow, opened through `bootstrap.aws`); here are the protocol the rules depend on and the
wrapper that turns a registry off at its first failure (no credentials, no permission) with a
note, so the grid is still drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from bootstrap.errors import UserError

if TYPE_CHECKING:
    from stacks.ecr import ImageInfo


class Registry(Protocol):
    def image(self, digest: str) -> ImageInfo | None:
        """The image with this digest, or None when the registry does not hold it."""

    def digest_for_tag(self, tag: str) -> str | None: ...

    def deployed(self, stage: str) -> list[ImageInfo]:
        """Images tagged `deployed.<stage>.*`, the most recently pushed first."""


class SoftRegistry:
    """A registry whose first failure (no credentials, no permission) turns it off, with a note."""

    def __init__(self, inner: Registry, notes: list[str]) -> None:
        self.inner = inner
        self.notes = notes
        self.failed: str | None = None

    def _call(self, fn: Callable[[], Any], default: Any) -> Any:
        if self.failed is not None:
            return default
        try:
            return fn()
        except UserError as exc:
            self.failed = exc.problem
            self.notes.append(f"registry not read ({exc.problem}): git SHAs and push times unknown")
            return default

    def image(self, digest: str) -> ImageInfo | None:
        return self._call(lambda: self.inner.image(digest), None)

    def digest_for_tag(self, tag: str) -> str | None:
        return self._call(lambda: self.inner.digest_for_tag(tag), None)

    def deployed(self, stage: str) -> list[ImageInfo]:
        return self._call(lambda: self.inner.deployed(stage), [])
