"""The shared names that depend on which GitHub a repository lives on: the OIDC issuer of
github.com, of GitHub Enterprise Cloud with data residency (SUBDOMAIN.ghe.com) and of GitHub
Enterprise Server, and what follows from it (the web host, the runners, local references)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from stacks import config_checks, contract

GITHUBS = {
    # API URL: (issuer, web host, runners, local references)
    "https://api.github.com": (
        "token.actions.githubusercontent.com", "github.com", "ubuntu-latest", "$/",
    ),
    "https://api.acme.ghe.com": (
        "token.actions.acme.ghe.com", "acme.ghe.com", "ubuntu-latest", "./",
    ),
    "https://ghes.example.com/api/v3": (
        "ghes.example.com/_services/token", "ghes.example.com", "[self-hosted, linux, x64]", "./",
    ),
}  # fmt: skip


@pytest.mark.parametrize("api_url", GITHUBS, ids=["github.com", "ghe.com", "ghes"])
def test_each_github_has_its_issuer_host_runners_and_local_references(api_url: str) -> None:
    issuer, host, runners, local = GITHUBS[api_url]
    assert contract.oidc_issuer_host(api_url) == issuer
    assert contract.oidc_provider_url(issuer) == f"https://{issuer}"
    assert contract.github_host(issuer) == host
    assert contract.runs_on(issuer) == runners
    assert contract.local_uses(issuer) == local
    assert contract.is_enterprise_server(issuer) == (runners != "ubuntu-latest")
    # the stack settings accept it as the issuer (docs/configuration.md, githubOidcIssuer)
    issues = config_checks.check_project({"githubOidcIssuer": issuer, "stages": ["dev"]})
    assert [i for i in issues if i.key == "githubOidcIssuer"] == []


def test_data_residency_is_told_by_its_host_not_by_meta() -> None:
    """GitHub Enterprise Cloud answers `/meta` like github.com (no `installed_version`): the
    issuer comes from the API host."""
    from bootstrap.github.subject import issuer_of

    def client(api_url: str) -> object:
        return SimpleNamespace(api_url=api_url)

    assert issuer_of(client("https://api.acme.ghe.com"), False) == "token.actions.acme.ghe.com"  # type: ignore[arg-type]
    # github.com behind any other URL (a proxy, the local stand-in) stays github.com's
    assert issuer_of(client("http://127.0.0.1:8080"), False) == contract.GITHUB_OIDC_HOST  # type: ignore[arg-type]
    assert issuer_of(client("http://127.0.0.1:8080/api/v3"), True) == "127.0.0.1/_services/token"  # type: ignore[arg-type]
