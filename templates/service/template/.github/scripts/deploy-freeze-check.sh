#!/usr/bin/env bash
# deploy-stage.yml: refuse to deploy a stage inside one of its freeze windows (its stack config
# `freezeWindows`, infra/stacks/freeze.py) unless the run gives a reason, which is then recorded
# with the deployment. Runs from the infra venv (before `pulumi up`, after setup-pulumi).
# In: STAGE, STACK, OVERRIDE_REASON (may be empty).
# Out: frozen (the window's label, empty when not frozen), override (the reason used).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=freeze
cd "$INFRA_DIR"

venv/bin/python -m stacks.freeze check --stage "$STAGE" --stack "$STACK" \
  --override-reason "$OVERRIDE_REASON"
