#!/usr/bin/env bash
# promote.yml, job resolve: the digest to deploy. Runs as the CI role, which may read the Pulumi
# state (never write it) and the registry: `pulumi stack output` reads the previous stage's
# non-secret output without running the program or knowing the passphrase.
# In: DIGEST, LOOKUP, PREVIOUS, REPOSITORY_URL, SHA. Out: digest.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE=promote

case "$LOOKUP" in
  none)
    found="$DIGEST" ;;
  stack)
    image="$(pulumi stack output image --stack "$PREVIOUS" --cwd "$INFRA_DIR")" \
      || fail "cannot read the output 'image' of stack $PREVIOUS"
    found="${image##*@}"
    [ "$found" != "$PLACEHOLDER_DIGEST" ] \
      || fail "$PREVIOUS has not been deployed yet (it shows the placeholder image): deploy it first"
    echo "$PREVIOUS runs $image" ;;
  ecr)
    [ -n "$REPOSITORY_URL" ] || fail "the repository variable $VAR_REPOSITORY_URL is not set"
    found="$(aws ecr describe-images --repository-name "${REPOSITORY_URL#*/}" \
      --image-ids "imageTag=$SHA" --query 'imageDetails[0].imageDigest' --output text)" \
      || fail "no image tagged $SHA in ECR: let build.yml finish on this commit, or give a digest"
    echo "the image built from $SHA is $found" ;;
  *)
    fail "unknown lookup '$LOOKUP'" ;;
esac
is_digest "$found" || fail "no deployable digest found (the previous stage may not be deployed yet)"
echo "digest=$found" >> "$GITHUB_OUTPUT"
