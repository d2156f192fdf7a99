#!/usr/bin/env bash
# preview.yml, job preview: `pulumi preview --diff` of stacks as the role the job holds now, then
# one report of every stack (the pull request comment and the run's summary).
#
#   preview-run.sh         previews STACKS as PREVIEW_AS: `shared` (the shared preview role) or the
#                          stage whose own preview role the job assumed. The shared role leaves
#                          alone each stage whose own role's variable (AWS_PREVIEW_ROLE_ARN_<STAGE>,
#                          in env) is set: a stage in its own account is previewed as its role only.
#                          Each stack's outcome, log and (if it changes) JSON preview go under
#                          RUNNER_TEMP/preview/. A failed preview does not fail this step (the next
#                          roles still preview theirs); the report does.
#   preview-run.sh report  the report of STACKS, in order, from what the runs left: a stack no run
#                          previewed (a step before it failed) is reported as such and fails it.
#
# Each stage stack first gets the image it runs now, so the preview shows real changes, not a
# missing image. Each stack the pull request changes is previewed once more as JSON (with its
# unchanged resources) and priced by stacks/cost_change.py: the comment shows the monthly cost
# change. In: STACKS (space-separated, shared first), PREVIEW_AS, AWS_REGION (report: the region the
# cost is priced in when a preview names none). Out (report): report (multi-line).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TITLE="pulumi preview"
cd "$INFRA_DIR"

read -r -a names <<< "$STACKS"
dir="$RUNNER_TEMP/preview"
mkdir -p "$dir"

# own_role_variable STAGE: the repository variable naming STAGE's own preview role
# (contract.stage_preview_role_variable).
own_role_variable() {
  local variable="${VAR_PREVIEW_ROLE}_${1^^}"
  echo "${variable//-/_}"
}

# own_role_set STAGE: STAGE's own preview role is set (its variable, in env).
own_role_set() {
  local variable
  variable="$(own_role_variable "$1")"
  [ -n "${!variable:-}" ]
}

# named_account STACK: the AWS account STACK's stack file names (`<project>:account`), if any.
named_account() {
  [ -f "Pulumi.$1.yaml" ] || return 0
  sed -n -E "s/^[[:space:]]+(${PROJECT}:)?account:[[:space:]]*[\"']?([0-9]{12})[\"']?[[:space:]]*(#.*)?$/\2/p" \
    "Pulumi.$1.yaml" | head -n 1
}

preview_stack() {
  local stack="$1" log="$dir/$1.txt" outcome=failed account
  if [ "$stack" != "$SHARED_STACK" ]; then
    # The deploy sets the image; git does not hold it.
    if image="$(pulumi stack output image --stack "$stack" 2>/dev/null)" && [ -n "$image" ]; then
      pulumi config set image "$image" --stack "$stack"
    fi
  fi
  if pulumi preview --non-interactive --diff --color never --stack "$stack" > "$log" 2>&1; then
    outcome=ok
    if grep -Eq '[0-9]+ to (create|update|delete|replace)' "$log"; then
      pulumi preview --non-interactive --json --show-sames --stack "$stack" > "$dir/$stack.json" \
        2> /dev/null || rm -f "$dir/$stack.json"
    fi
  fi
  printf '%s %s\n' "$outcome" "$PREVIEW_AS" > "$dir/$stack.outcome"
  if [ "$outcome" = failed ] && [ "$PREVIEW_AS" = "$SHARED_STACK" ]; then
    account="$(named_account "$stack")"
    if [ -n "$account" ]; then
      # The likely cause: the shared role cannot act in the stage's own account.
      echo "$stack lives in account $account: set the repository variable" \
        "$(own_role_variable "$stack") to its own preview role (bootstrap provision does)" \
        > "$dir/$stack.note"
    fi
  fi
}

run() {
  [ -n "${PREVIEW_AS:-}" ] || fail "PREVIEW_AS names no role"
  for stack in "${names[@]}"; do
    if [ "$PREVIEW_AS" = "$SHARED_STACK" ] && [ "$stack" != "$SHARED_STACK" ] && own_role_set "$stack"; then
      echo "$stack has its own preview role: previewed as it, not as the shared one"
      continue
    fi
    preview_stack "$stack"
  done
}

report() {
  local report="$RUNNER_TEMP/preview.md" budget=$((50000 / ${#names[@]})) failed="" priced=()
  local outcome role as note
  {
    echo "<!-- pulumi-preview -->"
    echo "## Pulumi preview"
    echo
    echo "| stack | preview | as |"
    echo "| --- | --- | --- |"
  } > "$report"
  for stack in "${names[@]}"; do
    outcome="" role=""
    [ -f "$dir/$stack.outcome" ] && read -r outcome role < "$dir/$stack.outcome"
    as="the shared preview role"
    [ "$role" = "$SHARED_STACK" ] || as="$role's own preview role"
    case "$outcome" in
      ok) echo "| $stack | ok | $as |" >> "$report" ;;
      failed)
        note=""
        [ -f "$dir/$stack.note" ] && note=" ($(cat "$dir/$stack.note"))"
        echo "| $stack | **failed**$note | $as |" >> "$report"
        failed="$failed $stack"
        ;;
      *) echo "| $stack | **not previewed** (a step before it failed) | |" >> "$report"; failed="$failed $stack" ;;
    esac
    if [ "$outcome" = ok ] && [ -f "$dir/$stack.json" ]; then
      priced+=("$stack=$dir/$stack.json")
    fi
  done
  {
    echo
    if [ "${#priced[@]}" -gt 0 ]; then
      python -m stacks.cost_change --region "${AWS_REGION:?}" "${priced[@]}" \
        || echo "(the monthly cost change could not be computed: see the run's log)"
    elif [ -z "$failed" ]; then
      echo "No stack changes: the monthly cost stays as it is."
    fi
  } >> "$report"
  for stack in "${names[@]}"; do
    [ -f "$dir/$stack.txt" ] || continue
    {
      echo
      echo "<details><summary>$stack</summary>"
      echo
      echo '```'
      tail -c "$budget" "$dir/$stack.txt"
      echo
      echo '```'
      echo "</details>"
    } >> "$report"
  done
  delimiter="REPORT_$(openssl rand -hex 16)"
  {
    echo "report<<$delimiter"
    cat "$report"
    echo "$delimiter"
  } >> "$GITHUB_OUTPUT"
  cat "$report" >> "$GITHUB_STEP_SUMMARY"
  [ -z "$failed" ] || fail "failed for:$failed"
}

case "${1:-run}" in
  run) run ;;
  report) report ;;
  *) fail "unknown mode '$1' (run or report)" ;;
esac
