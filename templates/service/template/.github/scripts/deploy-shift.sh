#!/usr/bin/env bash
# deploy-stage.yml, after `pulumi up` of a Lambda stage that shifts traffic (deploy-shift-start.sh):
# for each step of its plan (infra/stacks/shift.py) give the new version the step's share of the
# live alias's requests and watch the stage's alarms for the step's minutes (infra/stacks/watch.py);
# then let it take every request. An alarm rolls the stage back to the image it ran before
# (deploy-rollback.sh) and records that and a hold on the digest (deploy-verdict.sh, which fails).
# In: STAGE, STACK, STARTED, PREVIOUS, DIGEST, SHA, RECORD_ID, GITHUB_TOKEN, GITHUB_RUN_ID and the
# backend's login and secrets.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="traffic shift"
scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$INFRA_DIR"

steps="$(venv/bin/python -m stacks.shift plan --stack "$STACK")"
mapfile -t plan <<<"$steps"
alarms="$(pulumi stack output alarmNames --json --stack "$STACK")" \
  || fail "the stack $STACK exports no alarmNames: deploy the current infra program (it exports them)"
names="$(jq -r 'join(",")' <<<"$alarms")"
verdicts="$RUNNER_TEMP/shift-watch"

clear_shift() {
  pulumi config rm lambdaStableVersion --stack "$STACK"
  pulumi config rm lambdaNewVersionWeight --stack "$STACK"
}

for index in "${!plan[@]}"; do
  read -r weight minutes <<<"${plan[$index]}"
  if [ "$index" -gt 0 ]; then
    pulumi config set lambdaNewVersionWeight "$weight" --stack "$STACK"
    pulumi up --yes --non-interactive --stack "$STACK" --message "live: $weight to the new version (run $GITHUB_RUN_ID)"
  fi
  echo "The new version takes $weight of the requests: watching the alarms for $minutes min"
  : > "$verdicts"
  GITHUB_OUTPUT="$verdicts" venv/bin/python -m stacks.watch --stage "$STAGE" --stack "$STACK" \
    --alarms "$names" --started "$STARTED" --minutes "$minutes"
  if grep -qx "verdict=roll-back" "$verdicts"; then
    clear_shift
    rollback=success
    (cd .. && bash "$scripts/deploy-rollback.sh") || rollback=failure
    summary="$(sed -n 's/^summary=//p' "$verdicts")"
    fired="$(sed -n 's/^alarms=//p' "$verdicts")"
    (cd .. && VERDICT=roll-back ROLLBACK="$rollback" SUMMARY="$summary" ALARMS="$fired" \
      bash "$scripts/deploy-verdict.sh")
  fi
done
clear_shift
pulumi up --yes --non-interactive --stack "$STACK" --message "live: the new version takes every request (run $GITHUB_RUN_ID)"
