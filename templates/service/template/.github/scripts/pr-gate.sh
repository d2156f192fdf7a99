#!/usr/bin/env bash
# pr-env.yml, job deploy: may this pull request have a preview now? Previews are on
# (previewTarget), the pull request is open at this commit, and it has a preview already or fewer
# than previewMaxActive others run. Runs as the preview deploy role (it lists the stacks).
# In: PR_NUMBER, HEAD_SHA, GITHUB_TOKEN (and the backend's login).
# Out: go, state (capped, for the comment), active, limit, repository (the previews' image
# repository, from the shared stack), tag (the image's tag there: pr-<number>-<sha>).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=preview
cd "$INFRA_DIR"

# value KEY: KEY's value in the KEY=VALUE lines of stacks.previews on stdin.
value() {
  sed -n "s/^$1=//p"
}

target="$(GITHUB_OUTPUT="" venv/bin/python -m stacks.previews limits | value target)"
if [ "$target" = none ]; then
  echo "::notice title=no preview::previewTarget is none in $INFRA_DIR/Pulumi.shared.yaml"
  echo "go=false" >> "$GITHUB_OUTPUT"
  exit 0
fi
open="$(GITHUB_OUTPUT="" venv/bin/python -m stacks.previews open-check --pull "$PR_NUMBER" --sha "$HEAD_SHA" | value open)"
if [ "$open" != true ]; then
  echo "::notice title=no preview::the pull request is no longer open at this commit"
  echo "go=false" >> "$GITHUB_OUTPUT"
  exit 0
fi
listed="$RUNNER_TEMP/stacks.json"
pulumi stack ls --json > "$listed"
allowed="$(venv/bin/python -m stacks.previews cap --pull "$PR_NUMBER" --stacks "$listed" | value allowed)"
if [ "$allowed" != true ]; then
  echo "::warning title=no preview::the cap on concurrent previews (previewMaxActive) is reached"
  {
    echo "go=false"
    echo "state=capped"
  } >> "$GITHUB_OUTPUT"
  exit 0
fi
repository="$(pulumi stack output previewRepositoryUrl --stack "$SHARED_STACK")"
[ -n "$repository" ] || fail "the shared stack has no previews' image repository: update it (previewTarget lambda)"
{
  echo "go=true"
  echo "repository=$repository"
  echo "tag=$repository:pr-$PR_NUMBER-$HEAD_SHA"
} >> "$GITHUB_OUTPUT"
