#!/usr/bin/env bash
# pr-env.yml, job deploy: may this pull request have a preview now? Previews are on
# (previewTarget), the pull request is open at this commit, and it has a preview already or fewer
# than previewMaxActive others run; an ECS preview's port on the first stage's load balancer is
# not another live preview's. Runs as the preview deploy role (it lists the stacks).
# In: PR_NUMBER, HEAD_SHA, GITHUB_TOKEN (and the backend's login).
# Out: go, target (previewTarget), state (capped or collision, for the comment), active, limit,
# taken_by (the preview holding the port), repository (the previews' image repository, from the
# shared stack), tag (the image's tag there: pr-<number>-<sha>).
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
# Its results (allowed, active, limit; port and taken_by for ECS) go to the step's outputs too.
decided="$(venv/bin/python -m stacks.previews cap --pull "$PR_NUMBER" --stacks "$listed" --target "$target")"
if [ "$(value allowed <<< "$decided")" != true ]; then
  taken_by="$(value taken_by <<< "$decided")"
  if [ -n "$taken_by" ]; then
    echo "::warning title=no preview::port $(value port <<< "$decided") of the first stage's load balancer is pr-$taken_by's"
    state=collision
  else
    echo "::warning title=no preview::the cap on concurrent previews (previewMaxActive) is reached"
    state=capped
  fi
  {
    echo "go=false"
    echo "state=$state"
  } >> "$GITHUB_OUTPUT"
  exit 0
fi
repository="$(pulumi stack output previewRepositoryUrl --stack "$SHARED_STACK")"
[ -n "$repository" ] || fail "the shared stack has no previews' image repository: update it (previewTarget $target)"
{
  echo "go=true"
  echo "target=$target"
  echo "repository=$repository"
  echo "tag=$repository:pr-$PR_NUMBER-$HEAD_SHA"
} >> "$GITHUB_OUTPUT"
