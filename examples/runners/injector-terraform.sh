#!/usr/bin/env bash
# Run one command (terraform ...) with short-lived cloud credentials, in any CI job.
#
#   ci/injector-terraform.sh terraform plan -input=false
#
# The job sets (see docs/guides/runners.md in the injector repository):
#   INJECTOR_CI                      github, gitlab or jenkins: the job context (organization,
#                                    workspace, ids, job id) comes from that CI's own variables
#   DynamicCredentialHostname        the issuer host the clouds trust
#   DynamicCredentialPrivateKeyPath  the signing key's file, or INJECTOR_SIGNING_KEY_PEM with its
#                                    content (a CI secret), written here to a 0600 file
#   ENABLE_DYNAMIC_CREDENTIALS_<CLOUD> and that cloud's variables
#   INJECTOR_REQUIRE                 (optional) clouds that must be on, e.g. aws
set -euo pipefail

# A scratch folder of this job's own, removed on every way out (success, failure, signal).
scratch=$(mktemp -d "${TMPDIR:-/tmp}/injector.XXXXXX")
trap 'rm -rf -- "$scratch"' EXIT

# A secret the job does not get (a fork's pull request on GitHub) arrives empty: say which
# variable, rather than let injector name the key path the job never set.
if [ -z "${DynamicCredentialPrivateKeyPath:-}" ] && [ "${INJECTOR_SIGNING_KEY_PEM+set}" = set ] &&
    [ -z "$INJECTOR_SIGNING_KEY_PEM" ]; then
    echo "injector-terraform.sh: error: INJECTOR_SIGNING_KEY_PEM: is empty: expected the" \
        "signing key's PEM from a CI secret (a fork's pull request gets no secrets)" >&2
    exit 2
fi
if [ -z "${DynamicCredentialPrivateKeyPath:-}" ] && [ -n "${INJECTOR_SIGNING_KEY_PEM:-}" ]; then
    (umask 077 && printf '%s\n' "$INJECTOR_SIGNING_KEY_PEM" > "$scratch/signing-key.pem")
    export DynamicCredentialPrivateKeyPath="$scratch/signing-key.pem"
fi
unset INJECTOR_SIGNING_KEY_PEM # the command needs the file, never the key in its environment

# `injector run` mints, writes the token files into the folder, refreshes them while the
# command runs, removes them after, and exits with the command's status; with bad settings it
# exits 2 before running anything, and so does this script. It runs in the background so that a
# job cancelled with SIGTERM (or INT, HUP) hands the signal on: bash would otherwise act on it
# only after the command ended by itself.
injector run --dir "$scratch/credentials" -- "$@" <&0 &
child=$!
for signal in TERM INT HUP; do
    trap 'kill -s '"$signal"' "$child" 2>/dev/null || true' "$signal"
done
status=0
wait "$child" || status=$?
while kill -0 "$child" 2>/dev/null; do # a signal cut the wait short: wait for the real end
    status=0
    wait "$child" || status=$?
done
exit "$status"
