#!/bin/sh
# make demo: the console on a private sandbox.  Starts a PostgreSQL
# cluster, the Zuora and Airflow doubles and a file:// store under
# .lakeop-sandbox/ (git-ignored), seeds them, opens lakeop, and stops
# everything when you quit.  LAKEOP_SANDBOX_STORE=s3rver uses s3rver;
# LAKEOP_SANDBOX_DIR=DIR puts the sandbox in DIR instead (the tests do).
set -eu
. "$(dirname "$0")/../lib/common.sh"
LK_BIN=$LK_ROOT/lakeop
export LK_BIN
. "$LK_ROOT/tests/sandbox/sandbox.sh"

dir=${LAKEOP_SANDBOX_DIR:-$LK_ROOT/.lakeop-sandbox}
echo "lakeop demo: starting the sandbox in $dir (PostgreSQL, Zuora and Airflow doubles, ${LAKEOP_SANDBOX_STORE:-file} store)..."
sandbox_up "$dir" "${LAKEOP_SANDBOX_STORE:-file}"
echo "lakeop demo: config $LAKEOP_CONFIG (environments CODE and PROD; PROD is protected)"
echo "lakeop demo: try 'LAKEOP_CONFIG=$LAKEOP_CONFIG ./lakeop doctor' in another terminal while it runs"
if [ -t 0 ] && [ -t 1 ]; then
    "$LK_BIN" || true
else
    # No terminal (CI, a pipe): prove the sandbox works instead of opening the console.
    "$LK_BIN" doctor
    "$LK_BIN" status || true
fi
echo "lakeop demo: stopping the sandbox"
