"""The OIDC subject GitHub issues for a repository, learnt from GitHub, never guessed.

`GET /repos/{owner}/{repo}/actions/oidc/customization/sub` answers `use_default`,
`include_claim_keys` and, on github.com, `use_immutable_subject` and `sub_claim_prefix` (GitHub's
REST API description, schema `oidc-custom-sub-repo`; docs/sources.md). The prefix is what precedes
the context (`environment:STAGE`, `ref:refs/heads/main`, `pull_request`) in every `sub` claim:

- default template: `sub_claim_prefix` as GitHub gives it (trusted over `use_immutable_subject`,
  which has been seen to disagree); without it, `repo:OWNER@OWNER_ID/REPO@REPO_ID` when GitHub says
  the repository uses immutable subjects, `repo:OWNER/REPO` when it says it does not, and a refusal
  when github.com says neither (a name-only subject is never guessed there);
- a customised template (`use_default: false`) is honoured when the roles can pin it: it ends with
  `context` and every claim before it is one value per repository (`repo`, `repository`,
  `repository_owner`, `repository_owner_id`, `repository_id`, `repository_visibility`), at least
  one naming the repository. Otherwise it is refused with the command that resets the default;
- GitHub Enterprise Server (told by `GET /meta`'s `installed_version`) keeps name-based subjects,
  has no `sub_claim_prefix`, and older versions answer 404 for the endpoint: names then.

The issuer is github.com's `token.actions.githubusercontent.com`, on GitHub Enterprise Cloud with
data residency `token.actions.SUBDOMAIN.ghe.com`, on GitHub Enterprise Server
`HOST/_services/token` (`contract.oidc_issuer_host`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bootstrap.errors import RemoteError, SpecError
from bootstrap.github.client import path
from stacks.contract import GHE_COM, GITHUB_OIDC_HOST, github_host, oidc_issuer_host

if TYPE_CHECKING:
    from bootstrap.github.client import GitHubClient

CONTEXT = "context"
# Claims with one value per repository, which a trust policy can pin; the ones naming it first.
REPOSITORY_CLAIMS = ("repo", "repository", "repository_id")
STABLE_CLAIMS = (*REPOSITORY_CLAIMS, "repository_owner", "repository_owner_id", "repository_visibility")


@dataclass(frozen=True)
class OidcSubject:
    """What GitHub's OIDC tokens for one repository carry."""

    prefix: str  # `repo:acme@123/shop@456`, `repo:acme/shop`, or a custom template's claims
    issuer: str  # host and path, no scheme
    template: str  # `default`, or `custom: repo, context`
    immutable: bool  # owner and repository IDs in the `repo` claim
    enterprise: bool  # GitHub Enterprise Server

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "issuer": self.issuer,
            "template": self.template,
            "immutable": self.immutable,
            "enterprise": self.enterprise,
        }


def enterprise_version(client: GitHubClient) -> str | None:
    """The GitHub Enterprise Server version behind the API URL, or None for github.com."""
    meta = client.run("read the API's meta data", lambda: client.get("/meta")) or {}
    version = meta.get("installed_version") if isinstance(meta, dict) else None
    return str(version) if version else None


def issuer_of(client: GitHubClient, enterprise: bool | None = None) -> str:
    """The issuer of the client's GitHub: a GitHub Enterprise Server's (which `/meta` tells), a
    data-residency ghe.com's (its host tells), else github.com's (whatever the API URL: a proxy,
    a local stand-in)."""
    if enterprise is None:
        enterprise = enterprise_version(client) is not None
    issuer = oidc_issuer_host(client.api_url)
    if enterprise or github_host(issuer).endswith(f".{GHE_COM}"):
        return issuer
    return GITHUB_OIDC_HOST


def reset_command(full_name: str) -> str:
    return (
        f"gh api --method PUT repos/{full_name}/actions/oidc/customization/sub "
        "-F use_default=true"
    )


def learn(
    client: GitHubClient, repository: Mapping[str, Any], *, enterprise: bool | None = None
) -> OidcSubject:
    """The subject settings of `repository` (the JSON of `GET /repos/{owner}/{repo}`)."""
    if enterprise is None:
        enterprise = enterprise_version(client) is not None
    issuer = issuer_of(client, enterprise)
    owner = str(repository["owner"]["login"])
    name = str(repository["name"])
    full = f"{owner}/{name}"
    url = path("repos", owner, name, "actions", "oidc", "customization", "sub")
    answer = client.run(f"read the OIDC subject settings of {full}", lambda: client.get(url))
    if answer is None:
        if enterprise:  # before the endpoint existed there: the default, name-based template
            return OidcSubject(f"repo:{owner}/{name}", issuer, "default", False, True)
        raise RemoteError(
            f"GitHub answered 404 for the OIDC subject settings of {full}",
            "the token needs read access to the repository's Actions settings (fine-grained "
            "tokens: Administration read); then run again",
        )
    given = str(answer.get("sub_claim_prefix") or "") or None
    immutable = False if enterprise else _immutable(answer, given, full)
    repo_claim = _repo_claim(repository, immutable)
    if answer.get("use_default", True):
        return OidcSubject(given or repo_claim, issuer, "default", immutable, enterprise)
    keys = [str(k) for k in answer.get("include_claim_keys") or []]
    _check_pinnable(keys, full)
    values = {
        "repo": repo_claim,
        "repository": f"repository:{owner}/{name}",
        "repository_owner": f"repository_owner:{owner}",
        "repository_owner_id": f"repository_owner_id:{repository['owner']['id']}",
        "repository_id": f"repository_id:{repository['id']}",
        "repository_visibility": "repository_visibility:"
        + str(repository.get("visibility") or ("private" if repository.get("private") else "public")),
    }
    prefix = given or ":".join(values[k] for k in keys[:-1])
    return OidcSubject(prefix, issuer, f"custom: {', '.join(keys)}", immutable, enterprise)


def _immutable(answer: Mapping[str, Any], given: str | None, full: str) -> bool:
    if given is not None:  # GitHub's own prefix wins over the flag
        return "@" in given
    flag = answer.get("use_immutable_subject")
    if flag is None:
        raise RemoteError(
            f"GitHub did not say which OIDC subject format {full} uses (no sub_claim_prefix, no "
            "use_immutable_subject), and a name-only subject is not guessed for github.com",
            "opt the repository in to immutable subjects (`gh api --method PUT "
            f"repos/{full}/actions/oidc/customization/sub -F use_default=true "
            "-F use_immutable_subject=true`), then run again",
        )
    return bool(flag)


def _repo_claim(repository: Mapping[str, Any], immutable: bool) -> str:
    owner = repository["owner"]
    if immutable:
        return f"repo:{owner['login']}@{owner['id']}/{repository['name']}@{repository['id']}"
    return f"repo:{owner['login']}/{repository['name']}"


def _check_pinnable(keys: list[str], full: str) -> None:
    problem = None
    if CONTEXT not in keys:
        problem = "it has no `context`, so one subject would serve every stage, branch and pull request"
    elif keys[-1] != CONTEXT:
        after = ", ".join(keys[keys.index(CONTEXT) + 1 :])
        problem = f"claims after `context` ({after}) differ from one workflow to the next"
    elif any(k not in STABLE_CLAIMS for k in keys[:-1]):
        odd = ", ".join(k for k in keys[:-1] if k not in STABLE_CLAIMS)
        problem = f"the claims {odd} are not one value per repository"
    elif not any(k in REPOSITORY_CLAIMS for k in keys):
        problem = "no claim names the repository, so other repositories would match"
    if problem:
        raise SpecError(
            f"{full} uses a customised OIDC subject template (include_claim_keys: "
            f"{', '.join(keys) or 'none'}) that the deploy roles cannot pin: {problem}",
            f"reset it to GitHub's default ({reset_command(full)}), or use include_claim_keys "
            '["repo", "context"]; then run again',
        )
