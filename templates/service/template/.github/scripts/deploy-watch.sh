#!/usr/bin/env bash
# deploy-stage.yml: after the deploy, watch the stage's alarms (stack output alarmNames) for the
# stage's watchMinutes (infra/stacks/watch.py); any alarm raised since the deploy started means
# roll back. Runs as the stage's deploy role, which may describe the stage's own alarms.
# In: STAGE, STACK, STARTED (when the deploy started, ISO 8601 UTC).
# Out: verdict (keep or roll-back), alarms (those that fired), summary.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=watch
cd "$INFRA_DIR"

alarms="$(pulumi stack output alarmNames --json --stack "$STACK")" \
  || fail "the stack $STACK exports no alarmNames: deploy the current infra program (it exports them)"
names="$(jq -r 'join(",")' <<<"$alarms")"
venv/bin/python -m stacks.watch --stage "$STAGE" --stack "$STACK" --alarms "$names" \
  --started "$STARTED"
