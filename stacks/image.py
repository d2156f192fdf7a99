"""The image a stage runs: the project's own, by digest; a marked placeholder before the first build."""

from __future__ import annotations

import pulumi

from .contract import PLACEHOLDER_DIGEST
from .settings import StageSettings, foundation_only, offline_plan, real_update


def deployed_image(
    settings: StageSettings, repository_url: pulumi.Output[str]
) -> pulumi.Output[str]:
    """`REPOSITORY_URL@sha256:DIGEST` from the stage's `image` setting. Without one, a preview
    (and an offline plan) shows the workload with the all-zero placeholder digest, and a real
    update refuses, except the administrator's targeted update of the foundation, which leaves
    the workload untouched."""
    if settings.image is None:
        if real_update() and not foundation_only():
            raise pulumi.RunError(
                f"stage '{settings.stage}' has no image yet, so there is nothing to deploy: "
                "push to main to run the build workflow (it sets the image), or set one: "
                f"`pulumi config set {settings.project}:image REPOSITORY@sha256:DIGEST "
                f"--stack {settings.stage}`"
            )
        if not offline_plan():
            pulumi.log.warn(
                f"{settings.project}:image is not set: the workload is shown with the placeholder "
                f"digest {PLACEHOLDER_DIGEST} (no image has been built yet)"
            )
        return repository_url.apply(lambda url: f"{url}@{PLACEHOLDER_DIGEST}")

    image = settings.image

    def same_repository(url: str) -> str:
        if not image.startswith(f"{url}@"):
            raise pulumi.RunError(
                f"{settings.project}:image '{image}' is not in this project's repository {url}; "
                "deploy images built by this project's build workflow"
            )
        return image

    return repository_url.apply(same_repository)
