# Helpers for the scripts that run lakeop's commands against the Zuora
# double and check what they said.  Source after common.sh and doubles.sh,
# with T (the test's folder) and DB (its database) set:
#
#   run ARGS...             lakeop ARGS, no terminal: stdout in $OUT, stderr in $ERR, status in $RC
#   expect_rc NAME CODE     passes when the last run exited CODE
#   has NAME FILE TEXT      passes when FILE holds TEXT
#   sql QUERY               the query's rows, unaligned
#   submits                 how many submits the Zuora double has received
L=$LK_BIN
OUT=$T/out
ERR=$T/err
run() { "$L" "$@" >"$OUT" 2>"$ERR" </dev/null; RC=$?; }
expect_rc() {
    if [ "$RC" = "$2" ]; then lk_pass "$1"; else lk_fail "$1" "exit $RC, expected $2: $(head -c 900 "$ERR")"; fi
}
has() {
    if grep -qF -- "$3" "$2"; then lk_pass "$1"; else lk_fail "$1" "'$3' not in: $(head -c 900 "$2")"; fi
}
sql() { psql -X -q -t -A "$DB" -c "$1"; }
submits() { zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))'; }
