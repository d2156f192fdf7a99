#!/usr/bin/env bash
# deploy-stage.yml: record what the alarm watch decided with the deployment (infra/stacks/records.py).
# keep: the status `watched`. roll-back (alarms, or a failed pulumi up or smoke test): `rolled-back`, and a hold on the digest in this stage so
# that no automatic promotion takes it further until someone promotes it by hand; then the job
# fails, naming the alarms.
# In: VERDICT, SUMMARY, ALARMS, STAGE, DIGEST, SHA, RECORD_ID (may be empty), ROLLBACK (the
# rollback step's outcome), PREVIOUS, GITHUB_TOKEN and the run's GITHUB_* variables.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=watch
cd "$INFRA_DIR"

record() {
  [ -z "$RECORD_ID" ] && return 0
  venv/bin/python -m stacks.records add --id "$RECORD_ID" --verdict "$1" --summary "$2"
}

if [ "$VERDICT" = keep ]; then
  record watched "$SUMMARY"
  exit 0
fi
if [ "$ROLLBACK" = success ]; then
  outcome="rolled back to ${PREVIOUS##*@}"
else
  outcome="the rollback failed; the stage still runs $DIGEST"
fi
record rolled-back "$ALARMS: $outcome"
venv/bin/python -m stacks.records hold --stage "$STAGE" --digest "$DIGEST" --sha "$SHA" \
  --reason "rolled back after the deploy: $ALARMS"
fail "rolled back after the deploy ($SUMMARY): $outcome; $DIGEST is held in $STAGE until it is promoted by hand"
