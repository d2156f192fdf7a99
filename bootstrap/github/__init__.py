"""GitHub provisioning: the repository, its push, environments, variables, secrets and branch
protection, and the OIDC subject GitHub issues for it, converged idempotently through PyGithub
(docs/github.md).

Modules (each imports PyGithub / PyNaCl only inside the functions that need them):
- `connect`: the one way to connect (token, API URL, retries, pacing);
- `client`: the PyGithub client for an API URL, with bounded retries and errors naming the step;
- `token`: read the token (environment or a no-echo prompt) and check identity and scopes;
- `subject`: the OIDC subject prefix and issuer GitHub uses for a repository;
- `context`, `model`: one run's shared state, its inputs and its result;
- `repository`, `environments`: phase 1, on GitHub;
- `local`, `rerender`: phase 2, the Copier answers and the record, committed;
- `publish`, `gitpush`: phase 3, variables, secrets, the push and branch protection;
- `provision`: the phases in order (`bootstrap github sync`), and the pieces `bootstrap
  provision` runs with its AWS phases in between.
"""
