"""What the registry keeps: the lifecycle rules that protect every stage's deployed releases.

Pure Python (no Pulumi): the registry component builds its lifecycle policy from it; the ECR
adapter (`ecr.py`) tags deployed images with the prefixes checked here. The names themselves
(`deployed.<stage>.<git sha>`) belong to `contract.py`.

Every deploy adds the tag `deployed.<stage>.<git sha>` to the image it deployed (stage names hold
no dots, so the prefixes are unambiguous). The policy keeps, per stage, the two most recent images
carrying that stage's prefix: the release it runs and the one before it, for rollback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .contract import deployed_tag_prefix


def deployed_prefix(stage: str) -> str:
    """`deployed.<stage>.`, refused for a stage name with a dot (its prefix would be ambiguous)."""
    if not stage or "." in stage:
        raise ValueError(f"stage name '{stage}' cannot carry a deployed tag (no dots allowed)")
    return deployed_tag_prefix(stage)


def retention_rules(
    stages: Sequence[str],
    keep_releases: int,
    *,
    per_stage: int = 2,
    untagged_expiry_days: int = 1,
) -> list[dict[str, Any]]:
    """The registry's lifecycle rules, in priority order (`{"rules": retention_rules(...)}`).

    1. One rule per stage, the LAST stage first, keeping the `per_stage` most recently pushed
       images tagged `deployed.<stage>.` (its current and previous release). ECR lets only the
       highest-priority rule whose tag filter an image matches expire it, and every image reaches
       the stages in lifecycle order, so an image is judged by the last stage it reached, where
       it is at least as recent as in the earlier ones. In lifecycle order instead, the first
       stage's rule would expire what production still runs.
    2. Untagged images (superseded manifests, failed pushes) after `untagged_expiry_days`.
    3. The `keep_releases` most recent tagged images (git-SHA tags); images a stage rule
       matched are never expired by it.
    """
    if keep_releases < 1 or per_stage < 1 or untagged_expiry_days < 1:
        raise ValueError("retention counts (keepReleases, untaggedExpiryDays) must be at least 1")
    selections: list[tuple[str, dict[str, Any]]] = [
        (
            f"Keep the current and previous release of {stage}",
            {
                "tagStatus": "tagged",
                "tagPrefixList": [deployed_prefix(stage)],
                "countType": "imageCountMoreThan",
                "countNumber": per_stage,
            },
        )
        for stage in reversed(list(stages))
    ]
    selections.append(
        (
            f"Expire untagged images after {untagged_expiry_days} day(s)",
            {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_expiry_days,
            },
        )
    )
    selections.append(
        (
            f"Keep the last {keep_releases} release images",
            {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep_releases,
            },
        )
    )
    return [
        {
            "rulePriority": priority,
            "description": description,
            "selection": selection,
            "action": {"type": "expire"},
        }
        for priority, (description, selection) in enumerate(selections, start=1)
    ]
