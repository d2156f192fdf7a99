#!/usr/bin/env bash
# pr-env.yml, job deploy: the pull request's image, by digest, on its stack pr-<number>. The
# pull request is checked again right before the update: one merged while the image was built
# gets no preview (its close run may already have finished, and would leave this one behind).
# The stack gets its target (previewTarget, as the gate read it): on ECS, the update returns once
# the preview's task is healthy behind the first stage's load balancer.
# In: PR_NUMBER, HEAD_SHA, REPOSITORY_URL, DIGEST, PREVIEW_TARGET, AWS_REGION, GITHUB_TOKEN,
# GITHUB_RUN_ID. Out: state (deployed), url, image.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=preview
cd "$INFRA_DIR"

is_digest "$DIGEST" || fail "the build gave no image digest"
stack="pr-$PR_NUMBER"
image="$REPOSITORY_URL@$DIGEST"
open="$(GITHUB_OUTPUT="" venv/bin/python -m stacks.previews open-check --pull "$PR_NUMBER" --sha "$HEAD_SHA" | sed -n 's/^open=//p')"
if [ "$open" != true ]; then
  echo "::notice title=no preview::the pull request closed (or moved on) while its image was built"
  exit 0
fi
pulumi stack select --create "$stack"
pulumi config set aws:region "$AWS_REGION" --stack "$stack"
pulumi config set image "$image" --stack "$stack"
pulumi config set previewTarget "${PREVIEW_TARGET:-lambda}" --stack "$stack"
pulumi up --yes --non-interactive --stack "$stack" --message "preview of #$PR_NUMBER at $HEAD_SHA (run $GITHUB_RUN_ID)"
url="$(pulumi stack output url --stack "$stack")"
{
  echo "state=deployed"
  echo "url=$url"
  echo "image=$image"
} >> "$GITHUB_OUTPUT"
