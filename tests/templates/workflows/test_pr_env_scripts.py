"""The preview workflows' scripts, run as their steps run them (test_scripts.py's Runner): against
the local GitHub (the carried `stacks.previews` on the stdlib transport) and a Pulumi stand-in
that records its calls and answers `stack ls --json` and `stack output`. The gate (open, under
the cap), the deploy by digest after a last open-check, the teardown, the sweep, the comment."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from stacks import contract
from tests.fakes.github_server import FakeGitHub
from tests.templates.workflows.test_scripts import DIGEST, Runner, calls

REPOSITORY = "acme/shop"
SHA = "a" * 40
PREVIEWS = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-previews"
RECENT = "2099-01-01T00:00:00.000Z"  # never older than the TTL
PR_ENV = contract.PR_ENV_WORKFLOW

# Records each call (arguments separated by US) and answers `stack ls` from PULUMI_STACK_LS,
# `stack output NAME` from PULUMI_OUTPUT_NAME, and fails `stack select` of PULUMI_MISSING.
STAND_IN = """#!/usr/bin/env bash
(IFS=$'\\x1f'; printf '%s\\n' "$*") >> "$PULUMI_CALLS"
case "$1 $2" in
  "stack ls") printf '%s\\n' "${PULUMI_STACK_LS:-[]}" ;;
  "stack output") output="PULUMI_OUTPUT_$3"; printf '%s\\n' "${!output:-}" ;;
  "stack select") [[ " ${PULUMI_MISSING:-} " == *" $3 "* ]] && exit 255 ;;
esac
exit 0
"""


class Previews(Runner):
    def __init__(self, repo: Path, tmp: Path, server: FakeGitHub, token: str) -> None:
        super().__init__(repo, tmp)
        self.server = server
        (self.bin / "pulumi").write_text(STAND_IN)
        (self.bin / "pulumi").chmod(0o755)
        self.log = tmp / "pulumi-calls"
        self.github = {
            "GITHUB_TOKEN": token, "GITHUB_API_URL": server.api_url, "GITHUB_REPOSITORY": REPOSITORY,
            "PULUMI_CALLS": str(self.log), "PULUMI_OUTPUT_url": "https://x.lambda-url.eu-west-1.on.aws/",
            "PULUMI_OUTPUT_previewRepositoryUrl": PREVIEWS,
        }  # fmt: skip

    def go(self, job: str, script: str, **env: str) -> tuple[int, str, dict[str, str]]:
        given = {**self.github, **env}
        self.env = given
        step = self.step(PR_ENV if job != "sweep" else contract.PR_SWEEP_WORKFLOW, job, script)
        return self.run(step, **{k: v for k, v in given.items() if k in step.get("env", {})})

    def pull(self, *, sha: str = SHA) -> int:
        return int(self.server.open_pull(REPOSITORY, title="change", head_sha=sha)["number"])


@pytest.fixture
def runner(generated_repos: dict[str, Path], tmp_path: Path, github_server: FakeGitHub) -> Previews:
    """A private copy of a generated repo whose infra venv is this interpreter."""
    repo = tmp_path / "shop"
    shutil.copytree(generated_repos["ecs"], repo, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    (repo / "infra/venv/bin").mkdir(parents=True)
    os.symlink(sys.executable, repo / "infra/venv/bin/python")
    token = github_server.add_user("octo")
    github_server.add_org("acme", members=("octo",), plan="team")
    github_server.add_repo("acme", "shop")
    (tmp_path / "run").mkdir()
    return Previews(repo, tmp_path / "run", github_server, token)


def stack_ls(*names: str) -> str:
    return json.dumps([{"name": n, "lastUpdate": RECENT, "resourceCount": 9} for n in ("shared", *names)])


def test_the_gate_opens_for_an_open_pull_request_under_the_cap(runner: Previews) -> None:
    number = runner.pull()
    code, log, out = runner.go("deploy", "pr-gate.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, PULUMI_STACK_LS=stack_ls("pr-90"))
    assert code == 0, log
    assert out["go"] == "true" and out["tag"] == f"{PREVIEWS}:pr-{number}-{SHA}" and out["repository"] == PREVIEWS
    assert ["stack", "ls", "--json"] in calls(runner.log)


def test_the_gate_stops_at_the_cap_with_the_figures_for_the_comment(runner: Previews) -> None:
    number = runner.pull()
    full = stack_ls(*(f"pr-{n}" for n in range(100, 105)))  # previewMaxActive: 5
    code, log, out = runner.go("deploy", "pr-gate.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, PULUMI_STACK_LS=full)
    assert code == 0, log
    assert (out["go"], out["state"], out["active"], out["limit"]) == ("false", "capped", "5", "5")
    code, log, out = runner.go("deploy", "pr-comment.sh", STATE="capped", PR_NUMBER=str(number), ACTIVE="5", LIMIT="5")
    assert code == 0, log
    body = (runner.tmp / "output").read_text()
    assert contract.PREVIEW_COMMENT_MARKER in body and "5 of at most 5 previews are running" in body


def test_the_gate_stops_for_a_closed_pull_request(runner: Previews) -> None:
    number = runner.pull()
    runner.server.close_pull(REPOSITORY, number, merged=True)
    code, log, out = runner.go("deploy", "pr-gate.sh", PR_NUMBER=str(number), HEAD_SHA=SHA)
    assert code == 0, log
    assert out["go"] == "false" and "state" not in out
    assert ["stack", "ls", "--json"] not in calls(runner.log)  # nothing more is asked


def test_the_deploy_sets_the_image_by_digest_then_updates(runner: Previews) -> None:
    number = runner.pull()
    stack = f"pr-{number}"
    code, log, out = runner.go("deploy", "pr-deploy.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, REPOSITORY_URL=PREVIEWS,
                               DIGEST=DIGEST, AWS_REGION="eu-west-1")  # fmt: skip
    assert code == 0, log
    assert out == {"state": "deployed", "url": "https://x.lambda-url.eu-west-1.on.aws/", "image": f"{PREVIEWS}@{DIGEST}"}
    made = calls(runner.log)
    assert made[:4] == [
        ["stack", "select", "--create", stack],
        ["config", "set", "aws:region", "eu-west-1", "--stack", stack],
        ["config", "set", "image", f"{PREVIEWS}@{DIGEST}", "--stack", stack],
        ["config", "set", "previewTarget", "lambda", "--stack", stack],  # the gate's, else lambda
    ]
    assert made[4][:5] == ["up", "--yes", "--non-interactive", "--stack", stack]


def ecs_previews(runner: Previews) -> None:
    """previewTarget: ecs in the copy's infra/Pulumi.shared.yaml."""
    shared = runner.repo / "infra/Pulumi.shared.yaml"
    shared.write_text(shared.read_text() + "  shop:previewTarget: ecs\n")


def test_an_ecs_preview_whose_port_is_taken_is_stopped_with_the_reason(runner: Previews) -> None:
    ecs_previews(runner)
    number = runner.pull()
    other = number + contract.PREVIEW_PORTS  # the same port on the first stage's load balancer
    code, log, out = runner.go("deploy", "pr-gate.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, PULUMI_STACK_LS=stack_ls(f"pr-{other}"))
    assert code == 0, log
    assert (out["go"], out["state"], out["taken_by"], out["port"]) == ("false", "collision", str(other), str(contract.preview_port(number)))
    assert f"is pr-{other}'s" in log
    code, log, _ = runner.go("deploy", "pr-comment.sh", STATE="collision", PR_NUMBER=str(number), TAKEN_BY=str(other))
    assert code == 0, log
    assert f"taken by `pr-{other}`" in (runner.tmp / "output").read_text()


def test_an_ecs_preview_with_a_free_port_goes_and_deploys_on_ecs(runner: Previews) -> None:
    ecs_previews(runner)
    number = runner.pull()
    code, log, out = runner.go("deploy", "pr-gate.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, PULUMI_STACK_LS=stack_ls(f"pr-{number + 1}"))
    assert code == 0, log
    assert (out["go"], out["target"], out["taken_by"]) == ("true", "ecs", "")
    code, log, out = runner.go("deploy", "pr-deploy.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, REPOSITORY_URL=PREVIEWS,
                               DIGEST=DIGEST, AWS_REGION="eu-west-1", PREVIEW_TARGET=out["target"])  # fmt: skip
    assert code == 0, log
    assert ["config", "set", "previewTarget", "ecs", "--stack", f"pr-{number}"] in calls(runner.log)


@pytest.mark.parametrize("case", ["tag", "merged"])
def test_the_deploy_refuses_a_tag_and_skips_a_merged_pull_request(runner: Previews, case: str) -> None:
    number = runner.pull()
    if case == "merged":
        runner.server.close_pull(REPOSITORY, number, merged=True)
    digest = "latest" if case == "tag" else DIGEST
    code, log, out = runner.go("deploy", "pr-deploy.sh", PR_NUMBER=str(number), HEAD_SHA=SHA, REPOSITORY_URL=PREVIEWS,
                               DIGEST=digest, AWS_REGION="eu-west-1")  # fmt: skip
    assert (code != 0) == (case == "tag"), log
    assert not any(call[0] == "up" for call in calls(runner.log)) and "state" not in out


def test_the_teardown_destroys_and_removes_the_stacks_that_exist(runner: Previews) -> None:
    code, log, out = runner.go("destroy", "pr-destroy.sh", STACKS="pr-3 pr-404", PULUMI_MISSING="pr-404")
    assert code == 0, log
    made = calls(runner.log)
    assert [c[:2] for c in made if c[0] in ("destroy", "stack") and c[1] != "select"] == [["destroy", "--yes"], ["stack", "rm"]]
    assert ["stack", "rm", "--yes", "pr-3"] in made and out == {"state": "destroyed"}
    code, log, _ = runner.go("destroy", "pr-destroy.sh", STACKS="dev")
    assert code != 0 and "'dev' is not a preview stack" in log


# `gh api` as the comment jobs call it (--hostname, --paginate, --method, --jq, -F body=@FILE),
# answered by the local GitHub at GH_STAND_IN_API; the hosts it was asked for go to GH_HOSTS.
GH_STAND_IN = """#!PYTHON
import json, os, subprocess, sys, urllib.request

args, method, paginate, jq, body, path = sys.argv[2:], "GET", False, None, None, None
while args:
    arg = args.pop(0)
    if arg == "--hostname":
        open(os.environ["GH_HOSTS"], "a").write(args.pop(0) + "\\n")
    elif arg == "--paginate":
        paginate = True
    elif arg == "--method":
        method = args.pop(0)
    elif arg == "--jq":
        jq = args.pop(0)
    elif arg == "-F":
        key, _, value = args.pop(0).partition("=")
        body = {key: open(value[1:]).read() if value.startswith("@") else value}
    else:
        path = arg

def call(url, data=None):
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "token " + os.environ["GH_TOKEN"])
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)

base = os.environ["GH_STAND_IN_API"] + "/" + path
if paginate:
    found, page = [], 1
    while True:
        chunk = call(f"{base}?per_page=100&page={page}")
        found += chunk
        if len(chunk) < 100:
            break
        page += 1
else:
    found = call(base, json.dumps(body).encode() if body is not None else None)
text = json.dumps(found)
if jq:
    text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
sys.stdout.write(text)
"""


def _gh(runner: Previews) -> dict[str, str]:
    stand_in = runner.bin / "gh"
    stand_in.write_text(GH_STAND_IN.replace("PYTHON", sys.executable))
    stand_in.chmod(0o755)
    return {"GH_STAND_IN_API": runner.server.api_url, "GH_HOSTS": str(runner.tmp / "gh-hosts"),
            "GH_TOKEN": runner.github["GITHUB_TOKEN"], "GITHUB_SERVER_URL": "https://github.example",
            "REPOSITORY": REPOSITORY}  # fmt: skip


def test_the_sweep_destroys_the_closed_keeps_the_open_and_says_so_in_their_comments(runner: Previews) -> None:
    from stacks import previews
    from stacks.github_api import UrllibTransport

    kept, closed, silent = runner.pull(), runner.pull(), runner.pull()
    transport = UrllibTransport(runner.github["GITHUB_TOKEN"], runner.github["GITHUB_API_URL"])
    for number in (kept, closed):
        previews.upsert_comment(transport, REPOSITORY, number, previews.comment_body("deployed", number, url="https://x"))
    runner.server.close_pull(REPOSITORY, closed)
    runner.server.close_pull(REPOSITORY, silent)
    listed = stack_ls(f"pr-{kept}", f"pr-{closed}", f"pr-{silent}")
    run_url = "https://github.example/acme/shop/actions/runs/77"
    code, log, out = runner.go("sweep", "pr-sweep.sh", PULUMI_STACK_LS=listed, RUN_URL=run_url)
    assert code == 0, log
    destroyed = [c[-1] for c in calls(runner.log) if c[:2] == ["stack", "rm"]]
    assert destroyed == [f"pr-{closed}", f"pr-{silent}"]
    assert f"pr-{closed} destroyed" in runner.summary()
    assert [c["number"] for c in json.loads(out["comments"])] == [closed, silent]

    # The comment job (no code of the repository: gh only) updates the comments.
    step = runner.step(contract.PR_SWEEP_WORKFLOW, "comment", "Update the preview comments")
    code, log, _ = runner.run(step, COMMENTS=out["comments"], MARKER=contract.PREVIEW_COMMENT_MARKER, **_gh(runner))
    assert code == 0, log
    bodies = {c["_issue"]: c["body"] for c in runner.server.repo(REPOSITORY).issue_comments}
    assert f"`pr-{closed}` was destroyed: the pull request is closed." in bodies[closed]
    assert run_url in bodies[closed]
    assert "**https://x**" in bodies[kept]  # untouched
    assert silent not in bodies  # a pull request without a preview comment gets none
    assert set((runner.tmp / "gh-hosts").read_text().split()) == {"github.example"}


def test_the_comment_job_posts_one_comment_and_then_updates_it(runner: Previews) -> None:
    number = runner.pull()
    step = runner.step(PR_ENV, "comment", "Post or update the preview comment")
    gh = {**_gh(runner), "PR_NUMBER": str(number), "MARKER": contract.PREVIEW_COMMENT_MARKER}
    for text in ("first", "second"):
        body = f"{contract.PREVIEW_COMMENT_MARKER}\n{text}"
        code, log, _ = runner.run(step, BODY=body, **gh)
        assert code == 0, log
    ours = [c for c in runner.server.repo(REPOSITORY).issue_comments if c["_issue"] == number]
    assert [c["body"].strip() for c in ours] == [f"{contract.PREVIEW_COMMENT_MARKER}\nsecond"]
