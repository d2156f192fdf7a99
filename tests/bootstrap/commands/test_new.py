"""`bootstrap new`: the scaffold, its bad inputs, and that a failure leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bootstrap.cli import app
from bootstrap.scaffold import Scaffolder
from tests.conftest import REPO_ROOT, git, make_spec

runner = CliRunner()
ARGS = ["--target", "ecs", "--stages", "dev,test,prod", "--region", "eu-west-1", "--owner", "acme"]


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_new_creates_a_committed_repo_with_every_part(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "shop", *ARGS, "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    repo = tmp_path / "shop"
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "rev-list", "--count", "HEAD") == "1"
    assert git(repo, "status", "--porcelain") == ""
    for part in (
        "app/pyproject.toml", "app/src/service/main.py", "app/tests/test_api.py", "Dockerfile",
        "infra/Pulumi.yaml", "infra/Pulumi.shared.yaml", "infra/requirements.txt",
        "infra/__main__.py", "infra/stacks/stage.py", "README.md", ".gitignore",
        ".copier-answers.yml",
    ):
        assert (repo / part).is_file(), part
    assert yaml.safe_load((repo / "infra/Pulumi.yaml").read_text())["name"] == "shop"
    assert yaml.safe_load((repo / "infra/Pulumi.yaml").read_text())["runtime"]["name"] == "python"
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "shop"
    assert [s["name"] for s in answers["stages"]] == ["dev", "test", "prod"]
    assert answers["_commit"].startswith("v")


def test_one_stage_config_per_stage_in_lifecycle_order(tmp_path: Path) -> None:
    spec = make_spec(stages="qa,stage,live", manual="stage", target="lambda")
    repo = Scaffolder(spec, tmp_path / "shop").run().path
    configs = sorted(p.name for p in (repo / "infra").glob("Pulumi.*.yaml"))
    assert configs == ["Pulumi.live.yaml", "Pulumi.qa.yaml", "Pulumi.shared.yaml",
                       "Pulumi.stage.yaml"]
    stage = yaml.safe_load((repo / "infra/Pulumi.stage.yaml").read_text())["config"]
    assert stage["shop:target"] == "lambda"
    assert "shop:manual" not in stage  # promotion is the answers' fact (docs/configuration.md)
    declared = yaml.safe_load((repo / "infra/Pulumi.yaml").read_text())["config"]
    assert declared["stages"]["default"] == "qa,stage,live"


def test_a_stage_s_account_and_region_are_rendered_into_its_stack_file(tmp_path: Path) -> None:
    spec = make_spec(accounts=["prod=222222222222"], stage_regions=["prod=eu-central-1"])
    repo = Scaffolder(spec, tmp_path / "shop").run().path
    prod_text = (repo / "infra/Pulumi.prod.yaml").read_text()
    prod = yaml.safe_load(prod_text)["config"]
    assert prod["shop:account"] == "222222222222"  # a string: quoted, as AWS writes IDs
    assert prod["aws:region"] == "eu-central-1"
    assert "arn:aws:sns:eu-central-1:" in prod_text  # the examples are in the stage's region
    dev_text = (repo / "infra/Pulumi.dev.yaml").read_text()
    dev = yaml.safe_load(dev_text)["config"]
    assert "shop:account" not in dev and dev["aws:region"] == "eu-west-1"
    assert '# shop:account: "222222222222"' in dev_text  # the commented example
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["stages"][2]["account"] == "222222222222"


def test_components_are_copied_from_the_single_source(tmp_path: Path) -> None:
    repo = Scaffolder(make_spec(), tmp_path / "shop").run().path
    source = REPO_ROOT / "stacks"
    for module in source.glob("*.py"):
        assert (repo / "infra/stacks" / module.name).read_text() == module.read_text()


def test_json_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "shop", *ARGS, "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["path"] == str(tmp_path / "shop")
    assert summary["spec"]["stages"][2] == {"name": "prod", "manual": True, "target": "ecs"}
    assert len(summary["commit"]) == 40
    cost = summary["cost"]  # the new lifecycle's estimate, from bootstrap/cost/defaults.json
    assert [s["stage"] for s in cost["stages"]] == ["shared", "dev", "test", "prod"]
    assert cost["prices"]["region"] == "eu-west-1" and cost["total"] > 0
    assert [(d["stage"], d["base"]) for d in cost["differences"]] == [("test", "dev"), ("prod", "test")]


def test_new_prints_the_lifecycles_estimate_and_cheaper_options(tmp_path: Path) -> None:
    from bootstrap.cost import prices
    from bootstrap.cost.brief import brief_lines
    from bootstrap.cost.defaults import lifecycle_report

    args = ["--target", "eks", "--stages", "dev,prod", "--region", "us-east-1", "--owner", "acme"]
    result = runner.invoke(app, ["new", "shop", *args, "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    expected = brief_lines(lifecycle_report([("dev", "eks"), ("prod", "eks")], region="us-east-1",
                                            project="shop", prices=prices.load()))
    text = " ".join(result.stdout.split())
    for line in expected:
        assert " ".join(line.split()) in text, line
    assert "prod: +$" in text and "over dev" in text
    # an EKS control plane dominates a small stage: the cheaper choice is named with its saving
    assert "dev: EKS cluster hours is" in text and "saves about $73.00/month" in text
    assert "bootstrap cost --all`" in text


def test_without_owner_the_scaffold_completes_and_says_where_to_set_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert "owner" in result.output
    assert (tmp_path / "shop/.copier-answers.yml").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["Shop"], "project name 'Shop'"),
        (["shop", "--stages", ""], "--stages is empty"),
        (["shop", "--stages", "dev,dev"], "listed twice"),
        (["shop", "--stages", "dev,shared"], "reserved"),
        (["shop", "--manual", "qa"], "not in --stages"),
        (["shop", "--target", "gke"], "unknown target"),
        (["shop", "--region", "mars-1"], "unknown AWS region"),
        (["shop", "--owner", "-acme"], "GitHub owner"),
        (["a-very-long-project-name"], "too long"),
        (["shop", "--account", "prod=12345"], "('12345') is not an AWS account ID"),
        (["shop", "--stage-region", "qa=eu-west-1"], "names the stage 'qa', which is not in"),
        (["shop", "--profile", "staging=admin"], "--profile names 'staging', which is no stack"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["new", *args, "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert needle in lines[0]
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_existing_non_empty_directory_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop/notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 3
    assert "not empty" in result.output
    assert snapshot(tmp_path) == before
    assert (tmp_path / "shop/notes.txt").read_text() == "mine"


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shop").write_text("a file")
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 3
    assert "not a directory" in result.output
    assert (tmp_path / "shop").read_text() == "a file"


def test_an_empty_existing_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shop/.git").is_dir()


def test_interrupt_mid_render_leaves_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copier._main import Worker

    real = Worker._render_file
    calls = {"n": 0}

    def interrupted(self: Worker, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # a few files are already written when Ctrl-C arrives
            raise KeyboardInterrupt
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Worker, "_render_file", interrupted)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert calls["n"] == 5
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert snapshot(tmp_path) == before


def test_failing_commit_leaves_no_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bootstrap.errors import UserError

    def broken(self: Scaffolder, staging: Path) -> str:
        assert (staging / "Dockerfile").is_file()  # the render had happened
        raise UserError("git commit failed", "fix git")

    monkeypatch.setattr(Scaffolder, "_commit", broken)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["new", "shop", "--dir", str(tmp_path), "--yes"])
    assert result.exit_code == 1
    assert snapshot(tmp_path) == before


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "Shop", "--dir", str(tmp_path), "--verbose"])
    assert result.exit_code == 2
    assert "Traceback" in result.output


def test_help_lists_every_option() -> None:
    result = runner.invoke(app, ["new", "--help"])
    for option in ("--target", "--stages", "--manual", "--region", "--owner", "--dir",
                   "--backend", "--yes", "--json", "--verbose", "--account", "--stage-region",
                   "--profile"):
        assert option in result.output


def test_real_subprocess(tmp_path: Path) -> None:
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "bootstrap", "new", "shop", *ARGS, "--yes", "--dir", str(tmp_path)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Created" in done.stdout
    assert (tmp_path / "shop/Dockerfile").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "bootstrap", "new", "Bad", "--yes", "--dir", str(tmp_path)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_without_credentials_new_stays_local_and_light(tmp_path: Path) -> None:
    """No token, no AWS files or variables: local only, and boto3 is never imported."""
    probe = (
        "import sys; from bootstrap.cli import app; "
        f"app(['new', 'shop', '--yes', '--dir', {str(tmp_path)!r}], standalone_mode=False); "
        "print('boto3' in sys.modules, 'pulumi' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"  # no planning for the estimate
    assert "locally only" in done.stderr
    assert (tmp_path / "shop/.git").is_dir()


def test_aws_credentials_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bootstrap.doctor import aws_credentials_hinted

    assert not aws_credentials_hinted()
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert aws_credentials_hinted()
    monkeypatch.delenv("AWS_PROFILE")
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    assert aws_credentials_hinted()
