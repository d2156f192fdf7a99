#!/usr/bin/env bash
# deploy-stage.yml: the alarms fired after the deploy: put the stage back on the image it ran
# before, through the deploy's own path (deploy-up.sh with that image). A stage's first deploy has
# nothing to go back to: the step fails and the next one holds the digest all the same.
# In: STACK, PREVIOUS (REPOSITORY@sha256:... the stage ran before), GITHUB_RUN_ID, the backend's
# login and secrets. Out: as deploy-up.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=rollback

previous_digest="${PREVIOUS##*@}"
if [ -z "$PREVIOUS" ] || ! is_digest "$previous_digest" || [ "$previous_digest" = "$PLACEHOLDER_DIGEST" ]; then
  fail "no earlier release of this stage to roll back to; it keeps running the new one"
fi
echo "Rolling $STACK back to $PREVIOUS"
# A Lambda stage in the middle of a traffic shift: the live alias moves at once (stacks/shift.py).
for key in lambdaStableVersion lambdaNewVersionWeight; do
  (cd "$INFRA_DIR" && pulumi config rm "$key" --stack "$STACK" 2>/dev/null) || true
done
IMAGE="$PREVIOUS" DIGEST="$previous_digest" bash "$(dirname "${BASH_SOURCE[0]}")/deploy-up.sh"
