#!/usr/bin/env bash
# deploy-stage.yml, before `pulumi up`: a Lambda stage whose deployStrategy is canary or linear
# (infra/stacks/shift.py) keeps its live alias on the version it serves now and gives the version
# this deploy publishes only the first step's share of the requests. Nothing for other targets,
# for all-at-once, and for a stage's first deploy (no version to keep).
# In: STACK (and the backend's login). Out: stable (the version kept; empty: no shifting).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="traffic shift"
cd "$INFRA_DIR"

plan="$(venv/bin/python -m stacks.shift plan --stack "$STACK")"
stable=""
if [ -n "$plan" ]; then
  stable="$(pulumi stack output liveVersion --stack "$STACK" 2>/dev/null || true)"
fi
if [ -n "$stable" ]; then
  read -r weight _ <<<"$plan"
  pulumi config set lambdaStableVersion "$stable" --stack "$STACK"
  pulumi config set lambdaNewVersionWeight "$weight" --stack "$STACK"
  echo "The new version takes $weight of the requests first; version $stable keeps the others"
fi
echo "stable=$stable" >> "$GITHUB_OUTPUT"
