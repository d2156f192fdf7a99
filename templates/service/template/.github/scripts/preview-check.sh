#!/usr/bin/env bash
# preview.yml, job preview: preview only once the read-only role and the state backend exist;
# otherwise the comment says why there is no preview. Also each stage's region (its stack file's
# aws:region, else HOME_REGION), where a stage with its own preview role is previewed from.
# In: PREVIEW_ROLE_ARN, BACKEND_URL, STAGES (space-separated), HOME_REGION.
# Out: ready, report, region-<stage> for each stage.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -z "$PREVIEW_ROLE_ARN" ] || [ -z "$BACKEND_URL" ]; then
  reason="set the repository variables $VAR_PREVIEW_ROLE and $VAR_BACKEND_URL to preview infrastructure changes"
  echo "::notice title=preview skipped::$reason"
  {
    echo "ready=false"
    echo "report=<!-- pulumi-preview --> **Pulumi preview skipped:** $reason."
  } >> "$GITHUB_OUTPUT"
  exit 0
fi
echo "ready=true" >> "$GITHUB_OUTPUT"

# `aws:region: REGION` as Pulumi writes it in a stack file (quotes allowed); anything that is not a
# region name leaves the stage in HOME_REGION (the stack's own aws:region still decides where
# `pulumi preview` looks: this is only where its credentials are fetched from).
read -r -a stages <<< "${STAGES:-}"
for stage in "${stages[@]}"; do
  file="$INFRA_DIR/Pulumi.$stage.yaml"
  region=""
  if [ -f "$file" ]; then
    region="$(sed -n -E "s/^[[:space:]]+aws:region:[[:space:]]*[\"']?([a-z0-9-]+)[\"']?[[:space:]]*(#.*)?$/\1/p" "$file" | head -n 1)"
  fi
  [[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || region="${HOME_REGION:?}"
  echo "region-$stage=$region" >> "$GITHUB_OUTPUT"
done
