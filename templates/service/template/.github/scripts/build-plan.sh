#!/usr/bin/env bash
# build.yml, job build: push only on a push to the main branch, and only once AWS is set up (the
# CI role and the registry exist); otherwise build without pushing and say why.
# In: EVENT_NAME, REF, SHA, CI_ROLE_ARN, REPOSITORY_URL. Out: push, tag.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

push=false
tag="$PROJECT:$SHA"
if [ "$EVENT_NAME" = push ] && [ "$REF" = "refs/heads/$BRANCH" ]; then
  if [ -n "$CI_ROLE_ARN" ] && [ -n "$REPOSITORY_URL" ]; then
    push=true
    tag="$REPOSITORY_URL:$SHA"
  else
    echo "::warning title=Image not pushed::set the repository variables $VAR_CI_ROLE and $VAR_REPOSITORY_URL (bootstrap sets them when it provisions AWS) to push and deploy"
  fi
fi
{
  echo "push=$push"
  echo "tag=$tag"
} >> "$GITHUB_OUTPUT"
