"""GitHub provisioning: the repository, its push, environments, variables, secrets and branch
protection, converged idempotently through PyGithub (docs/github.md).

Modules (each imports PyGithub / PyNaCl only inside the functions that need them):
- `client`: the PyGithub client for an API URL, with bounded retries and errors naming the step;
- `token`: read the token (environment or a no-echo prompt) and check identity and scopes;
- `gitpush`: what the remote `main` holds, and the push with the token kept out of every file;
- `rerender`: re-render the repo with changed Copier answers (owner, trust subject) and the
  committed, secret-free record `.bootstrap/github.json`;
- `provision`: the steps, in order, and the result model.
"""
