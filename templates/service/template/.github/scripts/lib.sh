# shellcheck shell=bash
# Functions the workflow scripts share (sourced, never run), after the spec's facts (spec.sh).
# Scripts take their inputs from environment variables only; GitHub expressions never appear here.

# shellcheck source=spec.sh
source "$(dirname "${BASH_SOURCE[0]}")/spec.sh"

# fail MESSAGE: an error annotation titled after the calling workflow (TITLE), then exit 1.
fail() {
  echo "::error title=${TITLE:-${0##*/}}::$1"
  exit 1
}

# is_digest VALUE: VALUE is exactly one image digest (sha256: and 64 lowercase hex digits).
is_digest() {
  local LC_ALL=C
  [[ $1 =~ ^${DIGEST_PATTERN}$ ]]
}

# known_stage NAME: NAME is one of the stages.
known_stage() {
  local name
  for name in "${LIFECYCLE[@]}"; do
    [ "$name" = "$1" ] && return 0
  done
  return 1
}

# dispatched_on_main: a run started by hand names a stage and runs on the main branch, whose
# infrastructure code is the only one stages run (REF and STAGE from the workflow's env:).
dispatched_on_main() {
  [ "$REF" = "refs/heads/$BRANCH" ] \
    || fail "run ${TITLE} from $BRANCH: stages run the infrastructure code of $BRANCH only"
  known_stage "$STAGE" || fail "unknown stage; the stages are: ${LIFECYCLE[*]}"
}

# resolve_stage STAGE: sets STAGE_ROLE (the stage's deploy role, from the variable the workflow
# passes in env:) and STAGE_STACK (its Pulumi stack), or fails naming the variable to set.
# shellcheck disable=SC2034 # STAGE_STACK is for the caller
resolve_stage() {
  local name="$1" variable
  known_stage "$name" || fail "unknown stage '$name'; the stages are: ${LIFECYCLE[*]}"
  variable="${ROLE_VARIABLE[$name]}"
  STAGE_ROLE="${!variable:-}"
  STAGE_STACK="$name"
  if [ "$TRUST_SUBJECT" = environment ]; then
    [ -n "$STAGE_ROLE" ] || fail "the variable $variable of the GitHub environment '$name' is not set"
    STAGE_STACK="${PULUMI_STACK:-$name}"
  fi
  [ -n "$STAGE_ROLE" ] || fail "the repository variable $variable is not set"
}
