"""The project spec: the one validated model made from the CLI options (or read back from a
generated repo's `.copier-answers.yml`) that every step receives. Nothing re-parses options."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bootstrap.errors import SpecError
from stacks.contract import ACCOUNT_PATTERN, GITHUB_OIDC_HOST, is_preview_name

# A lowercase DNS label: what ECR, ECS, EKS, Kubernetes, S3 and GitHub all accept.
_LABEL = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# GitHub user and organisation logins.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# ALB and target-group names are limited to 32 characters. The stacks name both
# "<project>-<stage>" and Pulumi's auto-naming appends "-" and 7 random characters.
LB_NAME_MAX = 32
AUTONAME_SUFFIX = 8
MAX_STAGES = 10
RESERVED_STAGES = frozenset({"shared"})
DEFAULT_STAGES = ("dev", "test", "prod")


NO_OWNER = (
    "this repository has no GitHub owner yet",
    "pass --owner USER_OR_ORGANISATION, or set it with `bootstrap github owner OWNER`",
)


class Target(StrEnum):
    ECS = "ecs"
    EKS = "eks"
    LAMBDA = "lambda"


TrustSubject = Literal["environment", "branch"]


class Stage(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    manual: bool = False
    target: Target = Target.ECS
    # Where `new` puts the stage (docs/accounts.md): its AWS account (None: the tooling account)
    # and region (None: the project's). Rendered into its stack file, which is the truth after.
    account: str | None = None
    region: str | None = None

    def answer(self) -> dict[str, Any]:
        """The stage as a Copier answer: account and region only when set (older answers stay
        as they were)."""
        answer: dict[str, Any] = {"name": self.name, "manual": self.manual}
        answer["target"] = self.target.value
        answer.update((k, v) for k, v in (("account", self.account), ("region", self.region)) if v)
        return answer


class Spec(BaseModel):
    """Everything that decides what is generated and provisioned. Secrets never live here."""

    model_config = ConfigDict(frozen=True)

    name: str
    owner: str | None = None
    target: Target = Target.ECS
    stages: tuple[Stage, ...]
    region: str = "us-east-1"
    backend: str | None = None
    trust_subject: TrustSubject = "environment"
    # What GitHub says its OIDC tokens for this repository carry (stacks/contract.py): the subject
    # prefix (None until GitHub has been asked) and the issuer (github.com's, or a GHES host's).
    github_subject_prefix: str | None = None
    github_oidc_issuer: str = GITHUB_OIDC_HOST

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def stacks(self) -> list[str]:
        """Every Pulumi stack of the project in lifecycle order, `shared` first."""
        return ["shared", *self.stage_names]

    @property
    def repository(self) -> str | None:
        return f"{self.owner}/{self.name}" if self.owner else None

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = ", ".join(self.stage_names)
        raise SpecError(f"unknown stage '{name}'", f"choose one of: {known}")

    def github_owner(self, owner: str | None) -> str | None:
        """The GitHub owner to act for: `owner` (`--owner`) or the recorded one, never two
        different (the owner is in the trust policies: it changes only through GitHub)."""
        if owner and self.owner and owner.lower() != self.owner.lower():
            raise SpecError(
                f"this repository was generated for the owner '{self.owner}', not '{owner}'",
                f"drop --owner, or change it first with `bootstrap github owner {owner}` "
                "(before the repository is on GitHub)",
            )
        return owner or self.owner

    def require_owner(self, owner: str | None) -> str:
        """`github_owner`, which must be known."""
        found = self.github_owner(owner)
        if not found:
            raise SpecError(*NO_OWNER)
        return found

    def check_backend_option(self, backend: str | None) -> None:
        """`--backend` may name the repository's backend, or one for a repository without."""
        if backend and self.backend and backend != self.backend:
            raise SpecError(
                f"this repository keeps its state in {self.backend}, not {backend}",
                "drop --backend (moving state between backends: `pulumi stack export`, then "
                "`pulumi stack import`)",
            )

    def previous(self, name: str) -> Stage | None:
        """The stage before `name` in the lifecycle, or None for the first."""
        index = self.stage_names.index(self.stage(name).name)
        return self.stages[index - 1] if index else None

    def to_answers(self) -> dict[str, Any]:
        """The Copier answers that render this spec."""
        return {
            "project_name": self.name,
            "owner": self.owner or "",
            "target": self.target.value,
            "stages": [s.answer() for s in self.stages],
            "region": self.region,
            "backend": self.backend or "",
            "trust_subject": self.trust_subject,
            "github_subject_prefix": self.github_subject_prefix or "",
            "github_oidc_issuer": self.github_oidc_issuer,
        }

    @classmethod
    def from_answers(cls, answers: dict[str, Any]) -> Spec:
        """Read back a spec from a generated repo's `.copier-answers.yml`."""
        try:
            stages = tuple(Stage(**s) for s in answers["stages"])
            return build(
                name=answers["project_name"],
                owner=answers.get("owner") or None,
                target=answers.get("target", "ecs"),
                stages=stages,
                region=answers.get("region", "us-east-1"),
                backend=answers.get("backend") or None,
                trust_subject=answers.get("trust_subject", "environment"),
                github_subject_prefix=answers.get("github_subject_prefix") or None,
                github_oidc_issuer=answers.get("github_oidc_issuer") or GITHUB_OIDC_HOST,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                f".copier-answers.yml is incomplete ({exc})",
                "restore it from git history (`git checkout -- .copier-answers.yml`)",
            ) from exc


def parse_list(value: str | None) -> list[str]:
    """Split a comma-separated option value; blanks are dropped."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def from_options(
    *,
    name: str,
    owner: str | None,
    target: str,
    stages: str,
    manual: str | None,
    region: str,
    backend: str | None,
    trust_subject: str = "environment",
    accounts: list[str] | None = None,
    stage_regions: list[str] | None = None,
) -> Spec:
    """Validate the options of `bootstrap new` into a Spec. `manual=None` means the last stage;
    `accounts` and `stage_regions` are `--account`/`--stage-region` values, STAGE=VALUE each."""
    stage_names = parse_list(stages)
    _check_stage_names(stage_names)
    manual_names = [stage_names[-1]] if manual is None else parse_list(manual)
    for manual_name in manual_names:
        if manual_name not in stage_names:
            raise SpecError(
                f"--manual names '{manual_name}', which is not in --stages ({stages})",
                "list only stages given in --stages",
            )
    the_target = check_target(target)
    account_of = parse_stage_pairs(accounts or [], "--account", stage_names, "ACCOUNT_ID")
    region_of = parse_stage_pairs(stage_regions or [], "--stage-region", stage_names, "REGION")
    built = tuple(
        Stage(
            name=s,
            manual=s in manual_names,
            target=the_target,
            account=account_of.get(s),
            region=region_of.get(s),
        )
        for s in stage_names
    )
    return build(
        name=name,
        owner=owner,
        target=the_target,
        stages=built,
        region=region,
        backend=backend,
        trust_subject=trust_subject,
    )


def build(
    *,
    name: str,
    owner: str | None,
    target: str | Target,
    stages: tuple[Stage, ...],
    region: str,
    backend: str | None,
    trust_subject: str,
    github_subject_prefix: str | None = None,
    github_oidc_issuer: str = GITHUB_OIDC_HOST,
) -> Spec:
    _check_stage_names([s.name for s in stages])
    check_name(name, [s.name for s in stages])
    if owner:
        check_owner(owner)
    check_region(region)
    for stage in stages:
        _check_placement(stage)
    if backend:
        check_backend(backend)
    if trust_subject not in ("environment", "branch"):
        raise SpecError(
            f"unknown trust subject '{trust_subject}'", "use 'environment' or 'branch'"
        )
    return Spec(
        name=name,
        owner=owner or None,
        target=check_target(str(target)),
        stages=stages,
        region=region,
        backend=backend or None,
        trust_subject=trust_subject,  # type: ignore[arg-type]
        github_subject_prefix=github_subject_prefix or None,
        github_oidc_issuer=github_oidc_issuer or GITHUB_OIDC_HOST,
    )


def parse_stage_pairs(
    values: list[str], option: str, stages: list[str], what: str
) -> dict[str, str]:
    """`STAGE=VALUE` option values -> {stage: value}; a stage not in `stages` is refused."""
    found: dict[str, str] = {}
    for item in values:
        stage, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not stage or not value:
            raise SpecError(
                f"{option} '{item}' is not STAGE={what}",
                f"write e.g. {option} prod={_EXAMPLE[what]}",
            )
        if stage not in stages:
            raise SpecError(
                f"{option} names the stage '{stage}', which is not in --stages",
                f"use one of: {', '.join(stages)}",
            )
        found[stage] = value
    return found


_EXAMPLE = {"ACCOUNT_ID": "222222222222", "REGION": "eu-west-1"}


def _check_placement(stage: Stage) -> None:
    """A stage's account: 12 digits (as AWS writes it); its region: one botocore knows."""
    if stage.account is not None and not ACCOUNT_PATTERN.match(stage.account):
        raise SpecError(
            f"the account of stage '{stage.name}' ('{stage.account}') is not an AWS account ID",
            "give the 12 digits, e.g. --account prod=222222222222",
        )
    if stage.region is not None:
        check_region(stage.region)


def check_name(name: str, stages: list[str]) -> None:
    fix = "use lowercase letters, digits and single hyphens, starting with a letter (e.g. 'shop')"
    if not name:
        raise SpecError("the project name is empty", fix)
    if not name.isascii():
        raise SpecError(f"project name '{name}' has non-ASCII characters", fix)
    if not _LABEL.match(name):
        raise SpecError(f"project name '{name}' is not valid for AWS, Kubernetes and GitHub", fix)
    longest = max(stages, key=len)
    derived = len(name) + 1 + len(longest) + AUTONAME_SUFFIX
    if derived > LB_NAME_MAX:
        allowed = LB_NAME_MAX - AUTONAME_SUFFIX - 1 - len(longest)
        raise SpecError(
            f"project name '{name}' is too long: with stage '{longest}' its load balancer name "
            f"would be {derived} characters and AWS allows {LB_NAME_MAX}",
            f"use a name of at most {allowed} characters (or shorter stage names)",
        )


def _check_stage_names(stages: list[str]) -> None:
    if not stages:
        raise SpecError("--stages is empty", "give at least one stage, e.g. --stages dev,prod")
    if len(stages) > MAX_STAGES:
        raise SpecError(
            f"{len(stages)} stages given; at most {MAX_STAGES} are supported",
            "merge some stages",
        )
    seen: set[str] = set()
    for stage in stages:
        if stage in RESERVED_STAGES:
            raise SpecError(
                f"stage name '{stage}' is reserved for the account-level stack",
                "choose another stage name",
            )
        if is_preview_name(stage):
            raise SpecError(
                f"stage name '{stage}' is reserved for pull-request previews (stacks pr-<number>)",
                "choose another stage name",
            )
        if not stage.isascii() or not _LABEL.match(stage):
            raise SpecError(
                f"stage name '{stage}' is not valid",
                "use lowercase letters, digits and single hyphens, starting with a letter",
            )
        if stage in seen:
            raise SpecError(f"stage '{stage}' is listed twice in --stages", "list each once")
        seen.add(stage)


def check_target(target: str) -> Target:
    try:
        return Target(target)
    except ValueError:
        choices = ", ".join(t.value for t in Target)
        raise SpecError(f"unknown target '{target}'", f"use one of: {choices}") from None


def check_owner(owner: str) -> None:
    if not owner.isascii() or not _OWNER.match(owner):
        raise SpecError(
            f"GitHub owner '{owner}' is not a valid user or organisation name",
            "use letters, digits and single hyphens, at most 39 characters",
        )


@cache
def _region_partitions() -> dict[str, str]:
    """region -> partition (aws, aws-cn, ...), from botocore's own partition data (read as a
    file: importing botocore costs more than the rest of `new`'s validation)."""
    import importlib.util
    import json

    found = importlib.util.find_spec("botocore")
    if found is None or found.origin is None:
        raise SpecError("botocore is not installed", "reinstall bootstrap (pip install bootstrap-pipeline)")
    data = json.loads((Path(found.origin).parent / "data" / "partitions.json").read_text())
    return {
        region: partition["id"]
        for partition in data["partitions"]
        for region in partition["regions"]
        if not region.endswith("-global")
    }


@cache
def known_regions() -> frozenset[str]:
    """Every region in botocore's partition data."""
    return frozenset(_region_partitions())


def region_partition(region: str) -> str | None:
    """The partition a known region belongs to (`aws`, `aws-cn`, `aws-us-gov`, ...)."""
    return _region_partitions().get(region)


def check_region(region: str) -> None:
    if region not in known_regions():
        raise SpecError(
            f"unknown AWS region '{region}'",
            "use a region code such as us-east-1 or eu-west-1 (aws ec2 describe-regions lists them)",
        )


def check_backend(backend: str) -> None:
    if backend.startswith("file://") or backend in ("https://api.pulumi.com",):
        return
    if backend.startswith("s3://"):
        bucket = backend.removeprefix("s3://").split("/", 1)[0].split("?", 1)[0]
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise SpecError(
                f"'{bucket}' is not a valid S3 bucket name",
                "use 3-63 lowercase letters, digits, dots and hyphens",
            )
        return
    if backend.startswith("https://"):
        return  # a self-hosted Pulumi Cloud
    raise SpecError(
        f"unsupported state backend '{backend}'",
        "use s3://BUCKET, https://api.pulumi.com or file://PATH (or leave it out for local state)",
    )
