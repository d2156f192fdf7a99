#!/usr/bin/env bash
# deploy-stage.yml: the deploy's last check. Passes when GET <url>/health answers 2xx within the
# deadline. When the answer names a release that is an image digest (the stacks set RELEASE to
# the deployed digest), it must be the one just deployed, so an old task still behind the load
# balancer does not pass for the new release.
# In: STAGE, DIGEST, URL, IMAGE, SMOKE_TIMEOUT_SECONDS, SMOKE_INTERVAL_SECONDS.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="smoke test"

case "$URL" in
  http://*|https://*) ;;
  *) fail "the stack output 'url' must be an http(s) URL, got '$URL'" ;;
esac
health="${URL%/}/health"
body="$RUNNER_TEMP/health.json"
healthy() {
  curl --fail --silent --show-error --max-time 10 --output "$body" "$health" || return 1
  local release
  release="$(jq -r '.release // ""' "$body" 2>/dev/null || true)"
  case "$release" in
    *"$DIGEST"*) return 0 ;;
    *sha256:*) echo "$health still answers for release $release"; return 1 ;;
  esac
}
deadline=$((SECONDS + SMOKE_TIMEOUT_SECONDS))
attempt=1
until healthy; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "$health did not answer for the new release within ${SMOKE_TIMEOUT_SECONDS}s ($attempt attempts)"
  fi
  attempt=$((attempt + 1))
  sleep "$SMOKE_INTERVAL_SECONDS"
done
echo "$health answered after $attempt attempt(s): $(head -c 500 "$body")"
{
  echo "### Deployed $STAGE"
  echo "- image: \`$IMAGE\`"
  echo "- url: $URL"
} >> "$GITHUB_STEP_SUMMARY"
