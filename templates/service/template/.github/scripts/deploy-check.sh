#!/usr/bin/env bash
# deploy-stage.yml: check the inputs before anything else runs, and resolve the stage's deploy
# role and stack, and the alarm reader of the stage before (promotion's alarms gate reads that
# stage's alarms through it; empty for the first stage, or until provisioning has published it).
# Without GitHub environments (trust subject "branch") nothing can hold a job for approval, so a
# manual stage is deployed only from a person's run of promote.yml.
# In: STAGE, DIGEST, MANUAL, EVENT_NAME, REPOSITORY_URL, the role and alarm reader variables
# (spec.sh), PULUMI_STACK.
# Out: role, stack, image, alarms-reader.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=deploy-stage

known_stage "$STAGE" || fail "unknown stage; the stages are: ${LIFECYCLE[*]}"
is_digest "$DIGEST" \
  || fail "the digest must be sha256: and 64 hex digits; images are deployed by digest, never by tag"
[ "$DIGEST" != "$PLACEHOLDER_DIGEST" ] \
  || fail "$DIGEST is the placeholder a stage shows before its first deploy, not an image"
[ -n "$REPOSITORY_URL" ] || fail "the repository variable $VAR_REPOSITORY_URL is not set"
if [ "$TRUST_SUBJECT" = branch ] && [ "$MANUAL" = true ] && [ "$EVENT_NAME" != workflow_dispatch ]; then
  fail "'$STAGE' is a manual stage: deploy it by running the promote workflow"
fi
resolve_stage "$STAGE"
reader=""
if [ -n "${PREVIOUS_STAGE[$STAGE]}" ]; then
  variable="${ALARMS_READER_VARIABLE[$STAGE]}"
  reader="${!variable:-}"
fi
{
  echo "role=$STAGE_ROLE"
  echo "alarms-reader=$reader"
  echo "stack=$STAGE_STACK"
  echo "image=$REPOSITORY_URL@$DIGEST"
} >> "$GITHUB_OUTPUT"
