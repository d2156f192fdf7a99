#!/usr/bin/env bash
# pr-env.yml (a pull request closed) and pr-sweep.yml: destroy preview stacks and remove them.
# Runs as the preview deploy role. A stack that does not exist is already gone.
# In: STACKS (space-separated pr-<number> names). Out: state (destroyed, when one was).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="preview teardown"
cd "$INFRA_DIR"

read -r -a names <<< "$STACKS"
destroyed=0
for stack in "${names[@]}"; do
  [[ $stack =~ ^pr-[1-9][0-9]*$ ]] || fail "'$stack' is not a preview stack"
  if ! pulumi stack select "$stack" > /dev/null 2>&1; then
    echo "::notice title=preview::$stack does not exist (already destroyed)"
    continue
  fi
  pulumi destroy --yes --non-interactive --stack "$stack" --message "preview teardown (run $GITHUB_RUN_ID)"
  pulumi stack rm --yes "$stack"
  echo "- $stack destroyed" >> "$GITHUB_STEP_SUMMARY"
  destroyed=$((destroyed + 1))
done
if [ "$destroyed" -gt 0 ]; then
  echo "state=destroyed" >> "$GITHUB_OUTPUT"
fi
