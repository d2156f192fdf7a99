"""The stand-in answers as GitHub does: every exchange of the tool with the local GitHub, in the
scenarios the tool goes through (create, converge, plan fallbacks, a rename, the first run's
watch, deployments; Enterprise Server's in test_subject.py), is checked against GitHub's REST API description
(tests/bootstrap/github/rest_contract.py): the operation exists, a success status is documented, the
response and the tool's request body validate against the description's models. Planted wrong
answers are reported."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from github import GithubException

from bootstrap.github.client import RetryPolicy
from bootstrap.github.connect import connect
from bootstrap.provision.watch import RunWatcher
from tests.bootstrap.github import rest_contract
from tests.bootstrap.github.conftest import World
from tests.fakes.github_server import LoggedRequest


def problems_of(requests: list[LoggedRequest]) -> list[str]:
    found = []
    for request in requests:
        if request.is_git:
            continue
        found += rest_contract.check(
            request.method, request.path.removeprefix("/api/v3"), request.status,
            request.response, request.body,
        )  # fmt: skip
    return found


def operations_of(requests: list[LoggedRequest]) -> set[str]:
    ops = (rest_contract.match(r.method, r.path.removeprefix("/api/v3")) for r in requests)
    return {op.key for op in ops if op is not None}


def test_every_answer_of_the_tool_s_scenarios_is_one_github_gives(
    world: World, project: Callable[..., Path]
) -> None:
    server = world.server
    # create and converge, again
    repo = project()
    world.sync(repo, reviewers=("hubot", "acme/ops"))
    world.sync(repo)
    # a free plan: environments and branch protection refused
    server.add_org("freeco", members=("octo",), plan="free")
    world.sync(project(owner="freeco"))
    # a rename after provisioning: the old name answers 301 to /repositories/ID
    server.rename("acme/shop", name="store")
    world.sync(repo)
    # the first run's watch, and the deployments `status` reads
    client = connect(server.api_url, token=world.token, retry=RetryPolicy(attempts=1))
    sha = server.head("acme/store") or ""
    run = server.add_workflow_run("acme/store", head_sha=sha)
    frames = [{"status": "completed", "conclusion": "success",
               "jobs": [{"name": "build", "status": "completed", "conclusion": "success"},
                        {"name": "deploy dev", "status": "completed", "conclusion": "success"}]}]  # fmt: skip
    server.script_run("acme/store", run["id"], frames)
    RunWatcher(client, "acme/store", sha, "dev", sleep=lambda _: None).wait()
    repository = client.gh.get_repo("acme/store")
    deployment = repository.create_deployment(sha, environment="dev", auto_merge=False,
                                              required_contexts=[])  # fmt: skip
    deployment.create_status("success", environment_url="https://dev.example")
    list(repository.get_deployments(environment="dev"))
    list(deployment.get_statuses())

    assert problems_of(server.requests) == []
    # the operations of every phase were exercised (the rest: teardown, promote, seeding)
    assert {
        "GET /user", "GET /users/{username}", "GET /meta", "GET /orgs/{org}/teams/{team_slug}",
        "POST /orgs/{org}/repos", "GET /repos/{owner}/{repo}", "GET /repositories/{repository_id}",
        "GET /repos/{owner}/{repo}/actions/oidc/customization/sub",
        "PUT /repos/{owner}/{repo}/topics",
        "PUT /repos/{owner}/{repo}/environments/{environment_name}",
        "POST /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
        "POST /repos/{owner}/{repo}/actions/variables",
        "GET /repos/{owner}/{repo}/environments/{environment_name}/variables/{name}",
        "GET /repos/{owner}/{repo}/actions/secrets/public-key",
        "PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}",
        "PUT /repos/{owner}/{repo}/branches/{branch}/protection",
        "GET /repos/{owner}/{repo}/actions/runs", "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        "POST /repos/{owner}/{repo}/deployments",
        "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    } <= operations_of(server.requests)  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "reported"),
    [
        # a repository without the fields GitHub always sends
        ("GET", "/repos/acme/shop", 200, {"id": 1, "name": "shop"}, "is not a FullRepository"),
        # a created variable answers 201, not 200
        ("POST", "/repos/acme/shop/actions/variables", 200, {}, "documents [201]"),
        # a subject template whose use_default is not a boolean
        ("GET", "/repos/acme/shop/actions/oidc/customization/sub", 200, {"use_default": "yes"},
         "OidcCustomSubRepo"),
        # an error without GitHub's error body
        ("PUT", "/repos/acme/shop/topics", 422,
         {"message": "Validation Failed", "documentation_url": 422}, "is not a BasicError"),
    ],
)  # fmt: skip
def test_a_planted_wrong_answer_is_reported(
    world: World, method: str, path: str, status: int, body: object, reported: str
) -> None:
    world.server.add_repo("acme", "shop")
    world.server.fail(method, f"^{path}$", status, body=body)
    client = connect(world.server.api_url, token=world.token, retry=RetryPolicy(attempts=1))
    payload = {"name": "AWS_REGION", "value": "eu-west-1"} if method == "POST" else None
    with contextlib.suppress(GithubException):  # the tool may stumble: the point is the report
        client.request(method, path, payload)

    found = problems_of(world.server.requests)

    assert found and any(reported in p for p in found), found


def test_an_operation_github_does_not_have_is_reported() -> None:
    found = rest_contract.check("GET", "/repos/acme/shop/secret-sauce", 200, "{}")
    assert found == ["GET /repos/acme/shop/secret-sauce -> 200: no operation of GitHub's REST API description"]
