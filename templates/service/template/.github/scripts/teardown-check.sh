#!/usr/bin/env bash
# teardown.yml, job destroy: the stage's deploy role and stack.
# In: STAGE, the role variables (lib.sh), PULUMI_STACK. Out: role, stack.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=teardown

resolve_stage "$STAGE"
{
  echo "role=$STAGE_ROLE"
  echo "stack=$STAGE_STACK"
} >> "$GITHUB_OUTPUT"
