"""One owner per fact in the generated repo: `.copier-answers.yml` owns the project's facts and
`infra/Pulumi.yaml` carries them as its declarations' defaults (written from the schema); the
stack files set only their own stack's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bootstrap import config_declarations
from bootstrap.scaffold import Scaffolder
from stacks import config_schema as schema
from tests.conftest import REPO_ROOT, make_spec

FACTS = {s.key for s in schema.PROJECT_SETTINGS}
PREFIX = "repo:acme@1001/shop@2002"
GHES = "ghe.example.com/_services/token"


def test_the_template_declares_what_the_schema_says() -> None:
    """The template's infra/Pulumi.yaml is written from the schema; after a schema change run
    `python -m bootstrap.config_declarations` (this test fails until then)."""
    assert config_declarations.template_path().read_text() == config_declarations.template_text()


def test_a_planted_schema_change_shows_in_the_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    before = config_declarations.template_text()
    bumped = schema.Setting("keepReleases", "integer", 40, "kept", "shared", low=1, high=10000)
    settings = tuple(bumped if s.key == "keepReleases" else s for s in schema.SETTINGS)
    monkeypatch.setattr(schema, "SETTINGS", settings)
    assert config_declarations.template_text() != before


@pytest.fixture(scope="module")
def known_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo made once GitHub (Enterprise Server) is known, with branch trust and S3 state."""
    spec = make_spec(stages="dev,prod", backend="s3://shop-state").model_copy(
        update={
            "github_subject_prefix": PREFIX,
            "github_oidc_issuer": GHES,
            "trust_subject": "branch",
        }
    )
    return Scaffolder(spec, tmp_path_factory.mktemp("known") / "shop").run().path


def declarations(repo: Path) -> dict[str, dict]:
    return yaml.safe_load((repo / "infra" / "Pulumi.yaml").read_text())["config"]


@pytest.mark.parametrize("target", ["ecs", "eks", "lambda"])
def test_every_setting_is_declared_with_its_type_and_default(target: str, generated_repos) -> None:  # type: ignore[no-untyped-def]
    declared = declarations(generated_repos[target])
    assert list(declared) == [s.key for s in schema.SETTINGS]
    for setting in schema.SETTINGS:
        declaration = declared[setting.key]
        assert declaration["type"] == setting.pulumi_type and declaration["description"]
        if setting.scope != "project":
            assert schema.parse(setting, declaration["default"]) == schema.parse(setting, None)


def test_the_project_facts_come_from_the_answers(known_repo: Path) -> None:
    declared = declarations(known_repo)
    answers = yaml.safe_load((known_repo / ".copier-answers.yml").read_text())
    assert {key: declared[key]["default"] for key in sorted(FACTS)} == {
        "githubOidcIssuer": GHES,
        "githubSubjectPrefix": PREFIX,
        "stages": "dev,prod",
        "stateBackend": "s3://shop-state",
        "trustSubject": "branch",
    }
    for setting in schema.PROJECT_SETTINGS:
        assert (
            config_declarations.fact_from_answers(setting, answers)
            == declared[setting.key]["default"]
        )


def test_stack_files_hold_no_fact_and_nothing_nobody_reads(
    known_repo: Path, generated_repos
) -> None:  # type: ignore[no-untyped-def]
    repos = [known_repo, *generated_repos.values()]
    for repo in repos:
        for path in (repo / "infra").glob("Pulumi.*.yaml"):
            config = yaml.safe_load(path.read_text())["config"]
            keys = {k.partition(":")[2] for k in config if k.startswith("shop:")}
            assert not keys & FACTS, (path, keys & FACTS)
            assert keys <= set(schema.BY_KEY), (path, keys - set(schema.BY_KEY))  # "manual" is gone
            assert config["aws:region"] == "eu-west-1"


def test_the_stage_files_carry_what_the_stage_sets(generated_repos) -> None:  # type: ignore[no-untyped-def]
    for target, repo in generated_repos.items():
        for stage in ("dev", "prod"):
            config = yaml.safe_load((repo / "infra" / f"Pulumi.{stage}.yaml").read_text())["config"]
            assert config["shop:target"] == target
            for key in config:
                setting = schema.BY_KEY.get(key.partition(":")[2])
                if setting is not None and key != "shop:vpcCidr":
                    assert target in setting.targets, (target, key)  # nothing the target ignores


def test_the_docs_list_every_key_with_its_default() -> None:
    docs = (REPO_ROOT / "docs" / "configuration.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line for line in docs.splitlines() if line.startswith("| `")
    }
    for setting in schema.SETTINGS:
        assert setting.key in rows, f"docs/configuration.md does not list {setting.key}"
        row = rows[setting.key]
        assert f"| {setting.scope} | {setting.kind} |" in row, row
        if setting.scope != "project" and setting.default not in (None, ""):
            default = setting.default
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            cells = [cell.strip(" `") for cell in row.split("|")]
            assert cells[4].startswith(shown.removesuffix(".0")), (setting.key, row)
