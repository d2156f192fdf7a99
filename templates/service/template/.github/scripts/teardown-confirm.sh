#!/usr/bin/env bash
# teardown.yml, job confirm: refuse before any approval is asked unless the run is on the main
# branch and the typed confirmation is the stage's name.
# In: STAGE, CONFIRM, REF.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=teardown

dispatched_on_main
[ "$CONFIRM" = "$STAGE" ] || fail "the confirmation does not match the stage name; nothing was destroyed"
