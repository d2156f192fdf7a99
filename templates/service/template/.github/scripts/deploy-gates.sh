#!/usr/bin/env bash
# deploy-stage.yml: the promotion gates of a deploy to a stage after the first (infra/stacks/gates.py:
# the digest passed verification in the stage before, soaked there for its soakMinutes, is held in
# neither stage, and none of that stage's alarms is firing), then the changes the deploy brings, in
# the job summary (infra/stacks/changes.py). FORCE=true deploys past failing gates and needs
# REASON, which the deployment's record keeps. The freeze windows are the freeze step's.
# Runs as the stage before's alarm reader when ALARMS_READER names it (the step before assumed
# it): the gates then read its alarms; otherwise they say the alarms were not checked.
# In: STAGE, DIGEST, GIT_SHA, FORCE, REASON, ALARMS_READER, GITHUB_TOKEN and the run's GITHUB_*
# variables.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="promotion gates"
cd "$INFRA_DIR"

args=(--stage "$STAGE" --previous "${PREVIOUS_STAGE[$STAGE]}" --digest "$DIGEST" --no-freeze)
if [ -n "${ALARMS_READER:-}" ]; then
  args+=(--read-alarms)
fi
if [ "$FORCE" = true ]; then
  args+=(--force --reason "$REASON")
fi
venv/bin/python -m stacks.gates check "${args[@]}"
venv/bin/python -m stacks.changes --stage "$STAGE" --sha "$GIT_SHA" >> "$GITHUB_STEP_SUMMARY" \
  || echo "::warning title=changes::the list of changes could not be read from GitHub"
