#!/usr/bin/env bash
# pr-env.yml and pr-sweep.yml: previews need the preview deploy role and a shared state backend;
# without them the run stops here with a notice, and changes nothing.
# In: PR_ROLE_ARN, PR_ROLE_VARIABLE (its name), BACKEND_URL. Out: ready.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
[ -n "$PR_ROLE_ARN" ] || missing+=("$PR_ROLE_VARIABLE")
[ -n "$BACKEND_URL" ] || missing+=("$VAR_BACKEND_URL")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "::notice title=no preview::set the repository variables ${missing[*]} (bootstrap provision sets them) for preview environments"
  echo "ready=false" >> "$GITHUB_OUTPUT"
else
  echo "ready=true" >> "$GITHUB_OUTPUT"
fi
