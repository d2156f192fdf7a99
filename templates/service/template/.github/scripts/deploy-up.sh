#!/usr/bin/env bash
# deploy-stage.yml: point the stage's stack at the image by digest, `pulumi up`, and check that
# the stack now runs that digest. Runs as the stage's deploy role.
# In: STACK, IMAGE, DIGEST, GITHUB_RUN_ID (and the Pulumi backend's login and secrets).
# Out: started (when this deploy started: the alarm watch counts alarms from then on), previous
# (the image the stage ran before), url, image.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=deploy
cd "$INFRA_DIR"
echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$GITHUB_OUTPUT"

pulumi stack select --create "$STACK"
# The release running before this deploy: the registry keeps it for rollback.
previous="$(pulumi stack output image --stack "$STACK" 2>/dev/null || true)"
echo "previous=$previous" >> "$GITHUB_OUTPUT"
pulumi config set image "$IMAGE" --stack "$STACK"
pulumi up --yes --non-interactive --stack "$STACK" --message "deploy $IMAGE (run $GITHUB_RUN_ID)"
url="$(pulumi stack output url --stack "$STACK")"
running="$(pulumi stack output image --stack "$STACK")"
case "$running" in
  *"@$DIGEST") ;;
  *) fail "the stack output 'image' is '$running', not the deployed digest" ;;
esac
{
  echo "url=$url"
  echo "image=$running"
} >> "$GITHUB_OUTPUT"
