"""Retention (stacks/retention.py): the lifecycle rules, checked against moto's validator and
against the evaluation rules ECR documents (simulated below: moto stores lifecycle policies but
does not run them), on histories of releases marked through the ECR adapter (stacks/ecr.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.retention import retention_rules
from tests.bootstrap.status.conftest import Ecr, digest, sha

STAGES = ["dev", "test", "prod"]


# --- the rules --------------------------------------------------------------------------------


def test_rules_are_in_priority_order_stages_last_first() -> None:
    rules = retention_rules(STAGES, 30)
    assert [r["rulePriority"] for r in rules] == [1, 2, 3, 4, 5]
    prefixes = [r["selection"].get("tagPrefixList") for r in rules]
    assert prefixes == [["deployed.prod."], ["deployed.test."], ["deployed.dev."], None, None]
    assert all(r["selection"]["countNumber"] == 2 for r in rules[:3])
    assert rules[3]["selection"]["tagStatus"] == "untagged"
    assert rules[4]["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": 30,
    }
    assert all(r["action"] == {"type": "expire"} for r in rules)


def test_moto_accepts_the_policy(ecr: Ecr) -> None:
    policy = json.dumps({"rules": retention_rules(["dev", "qa-1", "prod"], 7)})
    ecr.client.put_lifecycle_policy(repositoryName="shop", lifecyclePolicyText=policy)
    stored = ecr.client.get_lifecycle_policy(repositoryName="shop")["lifecyclePolicyText"]
    rules = json.loads(stored)["rules"]
    assert [r["selection"].get("tagPrefixList", ["-"])[0] for r in rules] == [
        "deployed.prod.",
        "deployed.qa-1.",
        "deployed.dev.",
        "-",
        "-",
    ]


def test_rules_refuse_bad_counts_and_dotted_stages() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retention_rules(STAGES, 0)
    with pytest.raises(ValueError, match="no dots"):
        retention_rules(["a.b"], 3)


# --- a model of ECR's lifecycle evaluation (docs: "Lifecycle policy evaluation rules") ----------


def _selects(selection: dict[str, Any], tags: list[str]) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not tags
    if status == "any":
        return True
    if not tags:
        return False
    if "tagPrefixList" in selection:
        return all(any(t.startswith(p) for t in tags) for p in selection["tagPrefixList"])
    return all(
        any(pattern == "*" or t == pattern for t in tags) for pattern in selection["tagPatternList"]
    )


def expire(rules: list[dict[str, Any]], images: dict[str, tuple[int, list[str]]]) -> set[str]:
    """The digests a lifecycle run expires. `images`: digest -> (push order, tags). An image is
    expired by at most one rule; one matched by a rule's tag filter is never expired by a later
    rule; count rules rank by push time, newest first. (Age rules expire nothing here: every
    image is younger than a day.)"""
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in sorted(rules, key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        matched = [d for d, (_, tags) in images.items() if _selects(selection, tags)]
        if selection["countType"] == "imageCountMoreThan":
            ranked = sorted(matched, key=lambda d: images[d][0], reverse=True)
            expired.update(d for d in ranked[selection["countNumber"] :] if d not in claimed)
        claimed.update(matched)
    return expired


class Pipeline:
    """Builds pushed to the moto registry and deployed through dev -> test -> prod."""

    def __init__(self, ecr: Ecr, *, untag: bool) -> None:
        self.ecr = ecr
        self.registry = ecr.registry()
        self.untag = untag
        self.current: dict[str, int] = {}
        self.previous: dict[str, int] = {}

    def build(self, n: int) -> None:
        self.ecr.push(n)

    def deploy(self, stage: str, n: int) -> None:
        if stage in self.current and self.current[stage] != n:
            self.previous[stage] = self.current[stage]
        self.current[stage] = n
        if not self.untag:
            self.registry.tag_deployed(stage, digest(n), sha(n))
            return
        previous = [digest(self.previous[stage])] if stage in self.previous else []
        self.registry.mark_release(stage, digest(n), keep=previous)

    def images(self) -> dict[str, tuple[int, list[str]]]:
        pages = self.ecr.client.get_paginator("describe_images").paginate(repositoryName="shop")
        found = {}
        for page in pages:
            for detail in page["imageDetails"]:
                tags = detail.get("imageTags", [])
                n = next(int(t[:2], 16) if t[0] != t[1] else int(t[0], 16) for t in tags
                         if len(t) == 40)  # fmt: skip
                found[detail["imageDigest"]] = (n, tags)
        return found

    def protected(self) -> set[str]:
        return {digest(n) for n in [*self.current.values(), *self.previous.values()]}


def run_history(pipeline: Pipeline) -> None:
    """Twelve builds; every third goes on to test, every second of those to prod."""
    for n in range(1, 13):
        pipeline.build(n)
        pipeline.deploy("dev", n)
        if n % 3 == 0:
            pipeline.deploy("test", n)
            if n % 6 == 0:
                pipeline.deploy("prod", n)


def test_current_and_previous_of_every_stage_survive(ecr: Ecr) -> None:
    pipeline = Pipeline(ecr, untag=False)
    run_history(pipeline)
    expired = expire(retention_rules(STAGES, 3), pipeline.images())
    assert expired, "the general rule expires old releases"
    assert not expired & pipeline.protected()
    assert digest(6) in pipeline.protected()  # prod's previous, 7 builds old


def test_in_lifecycle_order_the_first_stage_would_expire_production(ecr: Ecr) -> None:
    pipeline = Pipeline(ecr, untag=False)
    run_history(pipeline)
    wrong = retention_rules(STAGES, 3)
    for rule, priority in zip(wrong[:3], (3, 2, 1), strict=True):
        rule["rulePriority"] = priority  # dev first
    assert digest(6) in expire(wrong, pipeline.images())  # prod's previous release


def rollback_history(pipeline: Pipeline) -> None:
    for n in (1, 2, 3):
        pipeline.build(n)
        pipeline.deploy("dev", n)
    pipeline.deploy("dev", 2)  # roll back from 3 to 2
    for n in (4, 5):
        pipeline.build(n)
    pipeline.deploy("dev", 4)  # current 4, previous 2 (pushed before 3)


def test_rollbacks_keep_the_previous_release_once_superseded_tags_are_removed(ecr: Ecr) -> None:
    pipeline = Pipeline(ecr, untag=True)
    rollback_history(pipeline)
    assert pipeline.previous["dev"] == 2
    expired = expire(retention_rules(STAGES, 1), pipeline.images())
    assert not expired & pipeline.protected()
    assert "deployed.dev." + sha(3) not in pipeline.images()[digest(3)][1]


def test_without_untagging_a_rollback_can_lose_the_previous_release(ecr: Ecr) -> None:
    pipeline = Pipeline(ecr, untag=False)
    rollback_history(pipeline)
    assert digest(2) in expire(retention_rules(STAGES, 1), pipeline.images())
