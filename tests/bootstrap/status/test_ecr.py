"""The registry adapter (stacks/ecr.py) on moto's ECR: reading, marking releases, clearing, the
ECR actions each operation calls (the IAM the roles need), and its command line, which the deploy
workflow runs from infra/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bootstrap.errors import RemoteError
from stacks import contract
from stacks import ecr as adapter
from stacks.ecr import Repository
from tests.bootstrap.status.conftest import REGISTRY, Ecr, digest, image, sha
from tests.conftest import REPO_ROOT

STACKS = REPO_ROOT / "stacks"


# --- tagging ------------------------------------------------------------------------------------


def test_tag_deployed_adds_the_tag_once(ecr: Ecr) -> None:
    ecr.push(1)
    registry = ecr.registry()
    assert registry.tag_deployed("dev", digest(1), sha(1)) == (f"deployed.dev.{sha(1)}", True)
    assert registry.tag_deployed("dev", digest(1), sha(1)) == (f"deployed.dev.{sha(1)}", False)
    assert registry.tag_deployed("prod", digest(1), sha(1))[1]
    assert ecr.tags(1) == sorted([sha(1), f"deployed.dev.{sha(1)}", f"deployed.prod.{sha(1)}"])


def test_tag_without_a_git_sha_names_the_digest(ecr: Ecr) -> None:
    ecr.push(2)
    tag, added = ecr.registry().tag_deployed("dev", digest(2), None)
    assert (
        tag == "deployed.dev.sha256-" + "2" * 20 == contract.deployed_digest_tag("dev", digest(2))
    )
    assert added


def test_tag_taken_by_another_image_gets_the_digest_appended(ecr: Ecr) -> None:
    ecr.push(1)
    ecr.push(2, tag="other")
    registry = ecr.registry()
    registry.tag_deployed("dev", digest(1), sha(7))
    tag, added = registry.tag_deployed("dev", digest(2), sha(7))
    assert (tag, added) == (f"deployed.dev.{sha(7)}-{'2' * 12}", True)
    assert registry.tag_deployed("dev", digest(2), sha(7)) == (tag, False)


def test_tag_of_a_missing_image_or_a_bad_digest(ecr: Ecr) -> None:
    with pytest.raises(adapter.RegistryError, match="has no image sha256:999999999999"):
        ecr.registry().tag_deployed("dev", digest(9), sha(9))
    with pytest.raises(ValueError, match="not an image digest"):
        ecr.registry().tag_deployed("dev", "latest", sha(9))
    with pytest.raises(ValueError, match="no dots"):
        ecr.registry().tag_deployed("d.v", digest(9), sha(9))


def test_untag_keeps_current_previous_and_images_own_tags(ecr: Ecr) -> None:
    for n in (1, 2, 3):
        ecr.push(n)
        ecr.mark(n, "dev")
    ecr.mark(1, "test")
    registry = ecr.registry()
    assert registry.untag_superseded("dev", {digest(2), digest(3)}) == [f"deployed.dev.{sha(1)}"]
    assert ecr.tags(1) == sorted([sha(1), f"deployed.test.{sha(1)}"])  # test's tag stays
    assert f"deployed.dev.{sha(2)}" in ecr.tags(2)
    assert registry.untag_superseded("dev", {digest(2), digest(3)}) == []


def test_an_images_last_tag_is_never_removed(ecr: Ecr) -> None:
    ecr.push(4, tag=f"deployed.dev.{sha(4)}")  # its only tag: removing it would delete it
    ecr.push(5)
    assert ecr.registry().untag_superseded("dev", {digest(5)}) == []
    assert ecr.tags(4) == [f"deployed.dev.{sha(4)}"]


# --- marking a release ----------------------------------------------------------------------------


def test_mark_release_tags_by_the_images_commit_and_untags_the_superseded(ecr: Ecr) -> None:
    for n in (1, 2, 3):
        ecr.push(n)
        ecr.mark(n, "dev")
    marked = ecr.registry().mark_release("dev", digest(3), keep=[digest(2)])
    assert (marked.tag, marked.added, marked.untagged) == (
        f"deployed.dev.{sha(3)}",
        False,
        [f"deployed.dev.{sha(1)}"],
    )
    assert marked.lines() == [
        f"deployed.dev.{sha(3)} already marks sha256:{'3' * 12}",
        f"untagged deployed.dev.{sha(1)} (superseded)",
    ]
    again = ecr.registry().mark_release("dev", digest(3), keep=[digest(2)])
    assert again.lines() == [f"deployed.dev.{sha(3)} already marks sha256:{'3' * 12}"]


def test_mark_release_of_an_image_without_a_commit_tag(ecr: Ecr) -> None:
    ecr.push(6, tag="hand-pushed")
    marked = ecr.registry().mark_release("test", digest(6))
    assert marked.lines() == [
        f"tagged sha256:{'6' * 12} {contract.deployed_digest_tag('test', digest(6))}"
    ]


def test_mark_release_of_a_missing_image(ecr: Ecr) -> None:
    with pytest.raises(adapter.RegistryError, match="has no image"):
        ecr.registry().mark_release("dev", digest(8))


# --- reading and clearing -----------------------------------------------------------------------


def test_reads(ecr: Ecr) -> None:
    for n in (1, 2):
        ecr.push(n)
        ecr.mark(n, "dev")
    registry = ecr.registry()
    info = registry.image(digest(1))
    assert info is not None and info.git_sha == sha(1) and info.pushed_at is not None
    assert registry.image(digest(9)) is None
    assert registry.digest_for_tag(sha(2)) == digest(2)
    assert registry.digest_for_tag(sha(9)) is None
    assert {i.digest for i in registry.deployed("dev")} == {digest(1), digest(2)}
    assert registry.deployed("prod") == []


def test_count_and_delete_all(ecr: Ecr) -> None:
    for n in (1, 2, 3):
        ecr.push(n)
    ecr.mark(1, "dev")  # a second tag: still one image
    registry = ecr.registry()
    assert registry.count() == 3
    assert registry.delete_all() == 3
    assert registry.count() == 0
    assert ecr.registry("never-created").count() == 0


def test_bootstraps_guard_makes_failures_one_line_errors(aws: None) -> None:
    import boto3

    from bootstrap.aws import repository

    registry = repository(boto3.client("ecr", region_name="eu-west-1"), "shop")
    with pytest.raises(RemoteError, match="tagging sha256:111111111111 as deployed to dev failed"):
        registry.tag_deployed("dev", digest(1), sha(1))  # no such repository


# --- the ECR actions each operation calls ---------------------------------------------------------


def recorded(client: Any) -> list[str]:
    """The IAM actions of the ECR API calls the client makes from now on."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"ecr:{model.name}")

    client.meta.events.register("before-call.ecr", record)
    return calls


def undeclared(calls: list[str], declared: tuple[str, ...]) -> set[str]:
    return set(calls) - set(declared)


@pytest.fixture
def history(ecr: Ecr) -> Iterator[Ecr]:
    for n in (1, 2, 3):
        ecr.push(n)
        ecr.mark(n, "dev")
    ecr.push(4)  # built, not deployed yet
    yield ecr


OPERATIONS: dict[str, tuple[Callable[[Repository], Any], tuple[str, ...]]] = {
    "mark-release": (
        lambda r: r.mark_release("dev", digest(4), keep=[digest(3)]),
        adapter.MARK_RELEASE_ACTIONS,
    ),
    "read": (
        lambda r: (r.image(digest(1)), r.digest_for_tag(sha(2)), r.deployed("dev")),
        adapter.READ_ACTIONS,
    ),
    "clear": (lambda r: (r.count(), r.delete_all()), adapter.CLEAR_ACTIONS),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_calls_only_its_declared_actions(history: Ecr, operation: str) -> None:
    run, declared = OPERATIONS[operation]
    calls = recorded(history.client)
    run(history.registry())
    assert calls and not undeclared(calls, declared), calls
    assert set(calls) == set(declared)  # no stale declaration either


def test_an_undeclared_call_is_reported(history: Ecr) -> None:
    calls = recorded(history.client)
    history.registry().count()  # ListImages: not something marking a release may call
    assert undeclared(calls, adapter.MARK_RELEASE_ACTIONS) == {"ecr:ListImages"}


# --- the command line ---------------------------------------------------------------------------


def test_cli_marks_the_release(history: Ecr, capsys: pytest.CaptureFixture[str]) -> None:
    code = adapter.main(
        ["mark-release", "--repository-url", REGISTRY, "--stage", "dev", "--digest", digest(4),
         "--previous", image(3)],
        client=history.client,
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.splitlines() == [
        f"tagged sha256:{'4' * 12} deployed.dev.{sha(4)}",
        f"untagged deployed.dev.{sha(1)} (superseded)",
        f"untagged deployed.dev.{sha(2)} (superseded)",
    ]
    assert f"deployed.dev.{sha(3)}" in history.tags(3)  # the previous release stays marked


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--repository-url", "shop", "--digest", digest(1)], "is not an ECR repository URL"),
        (["--repository-url", REGISTRY, "--digest", "latest"], "'latest' is not an image digest"),
        (["--repository-url", REGISTRY, "--digest", digest(1), "--previous", "v1"],
         "--previous 'v1' is not an image"),
        (["--repository-url", REGISTRY, "--digest", digest(1), "--stage", "a.b"], "no dots"),
    ],
)  # fmt: skip
def test_cli_bad_arguments(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["mark-release", "--stage", "dev", *args]
    assert adapter.main(argv, client=object()) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err


def test_cli_registry_refusal(ecr: Ecr, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mark-release", "--repository-url", REGISTRY, "--stage", "dev", "--digest", digest(5)]
    assert adapter.main(argv, client=ecr.client) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no image sha256:555555555555" in err[0]


def test_repository_urls() -> None:
    assert adapter.parse_repository_url(REGISTRY) == ("shop", "eu-west-1")
    url = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/shop-api"
    assert adapter.parse_repository_url(url) == ("team/shop-api", "cn-north-1")
    assert adapter.previous_digest("") is None
    assert adapter.previous_digest(image(2)) == adapter.previous_digest(digest(2)) == digest(2)


def test_runs_as_a_module_from_the_generated_infra_folder(tmp_path: Path) -> None:
    """`python -m stacks.ecr` from infra/ with only the copied components: the deploy job's call."""
    infra = tmp_path / "infra"
    shutil.copytree(STACKS, infra / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "stacks.ecr", "mark-release", "--repository-url", REGISTRY,
         "--stage", "dev", "--digest", "sha256:abc"],
        cwd=infra, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip() == "error: 'sha256:abc' is not an image digest (sha256:<64 hex digits>)"
    )
