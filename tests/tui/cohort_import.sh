#!/bin/sh
# U on the Cohorts screen (headless, scripted): the cohort's name, then the
# file (checked as it is typed: a missing one is said under the line and
# cannot be accepted), then the confirmation, then cohort_import on a worker:
# tests/fixtures/cohort/import.csv lands as cohort Test2024, the status line
# says how many items, the audit has it as the command line's cohort-import
# would.  A bad line stores nothing and the status line names it; a
# protected environment wants its name typed; read-only refuses before any
# dialog.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_cohort_import || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
cp "$LK_ROOT/tests/fixtures/cohort/import.csv" "$d/import.csv"
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -c "$1"; }
console() {   # SCRIPT [lakeop options]: a headless scripted run
    script=$1
    shift
    LAKEOP_HEADLESS=1 LINES=30 COLUMNS=160 TERM=xterm-256color LAKEOP_SCRIPT="$script" \
        timeout 60 "$LK_BIN" "$@" >"$script.out" 2>"$script.err"
}
status_line() { tail -1 "$1"; }

# ---- the import: a missing file first (refused by the input line), then the real one
cat >"$d/import.script" <<EOF
:cohorts
U
Test2024
<Enter>
$d/nope.csv
:save-display $d/missing.txt
<Enter>
:save-display $d/still-open.txt
<C-u>
$d/import.csv
<Enter>
:save-display $d/confirm.txt
<Tab>
<Enter>
:save-display $d/imported.txt
q
EOF
console "$d/import.script"; rc=$?
[ $rc -eq 0 ] && lk_pass "scripted run exits 0" || lk_fail "scripted run exits 0" "rc $rc: $(cat "$d/import.script.err")"
if grep -q "No such file or directory" "$d/missing.txt" && grep -q "No such file or directory" "$d/still-open.txt" &&
   grep -q "File for cohort Test2024" "$d/still-open.txt"; then
    lk_pass "a missing file is said under the input line, and Enter does not accept it"
else
    lk_fail "missing file refused by the input line" "$(cat "$d/still-open.txt")"
fi
if grep -q "Import cohort file" "$d/confirm.txt" && grep -qF "$d/import.csv" "$d/confirm.txt" &&
   grep -q "target: Test2024" "$d/confirm.txt"; then
    lk_pass "the confirmation names the file and the cohort"
else
    lk_fail "confirmation" "$(cat "$d/confirm.txt")"
fi
if status_line "$d/imported.txt" | grep -q "import of cohort Test2024 done: 4 new, 0 updated"; then
    lk_pass "status line: the items upserted"
else
    lk_fail "status line after the import" "$(status_line "$d/imported.txt")"
fi
grep -q "Test2024" "$d/imported.txt" && lk_pass "the cohort is listed after the import" \
    || lk_fail "cohort listed" "$(head -8 "$d/imported.txt")"
n=$(q "SELECT count(*) FROM lakeop.cohort_items i JOIN lakeop.cohorts c ON c.id = i.cohort_id WHERE c.name = 'Test2024'")
[ "$n" = 4 ] && lk_pass "4 items stored" || lk_fail "items stored" "$n"
audit=$(q "SELECT operator || ' ' || env || ' ' || action || ' ' || target || ' ' || result || ' ' || (params->>'file') || ' ' || message
           FROM lakeop.audit WHERE action = 'cohort.import'")
[ "$audit" = "alice CODE cohort.import Test2024 ok $d/import.csv 4 new, 0 updated" ] \
    && lk_pass "audited once, as cohort-import is" || lk_fail "audit" "$audit"
tui_no_asan "$d/import.script.err"

# ---- a bad line: nothing stored, the status line names the line, audited as failed
{ head -1 "$d/import.csv"; printf 'Test2024,A-S00000009,ReadyForEstimation,2024-04-15,USD,7.00\nOther,A-S00000010,ReadyForEstimation\n'; } >"$d/bad.csv"
cat >"$d/bad.script" <<EOF
:cohorts
U
<Enter>
$d/bad.csv
<Enter>
<Tab>
<Enter>
:save-display $d/bad.txt
q
EOF
console "$d/bad.script"
if status_line "$d/bad.txt" | grep -q "import of cohort Test2024 failed: .*bad.csv line [0-9]"; then
    lk_pass "a bad file: the status line names the line"
else
    lk_fail "bad file in the status line" "$(status_line "$d/bad.txt")"
fi
n=$(q "SELECT count(*) FROM lakeop.cohort_items i JOIN lakeop.cohorts c ON c.id = i.cohort_id WHERE c.name = 'Test2024'")
r=$(q "SELECT result FROM lakeop.audit WHERE action = 'cohort.import' ORDER BY id DESC LIMIT 1")
[ "$n" = 4 ] && [ "$r" = failed ] && lk_pass "nothing stored from it; audited as failed" || lk_fail "bad file kept out" "$n items, $r"
tui_no_asan "$d/bad.script.err"

# ---- protected: OK without the name typed does nothing; typed, it imports
cat >"$d/prod.script" <<EOF
:cohorts
U
<C-u>
Prod2024
<Enter>
$d/prod.csv
<Enter>
<Tab>
<Enter>
:save-display $d/prod-untyped.txt
PROD
<Enter>
:save-display $d/prod.txt
q
EOF
sed 's/Test2024/Prod2024/' "$d/import.csv" >"$d/prod.csv"
console "$d/prod.script" --env PROD
if grep -q "type PROD to confirm" "$d/prod-untyped.txt" &&
   status_line "$d/prod.txt" | grep -q "import of cohort Prod2024 done: 4 new, 0 updated" &&
   [ "$(q "SELECT env FROM lakeop.audit WHERE target = 'Prod2024'")" = PROD ]; then
    lk_pass "protected environment: the name typed, then imported and audited there"
else
    lk_fail "protected" "$(status_line "$d/prod-untyped.txt") / $(status_line "$d/prod.txt")"
fi
tui_no_asan "$d/prod.script.err"

# ---- read-only: refused before any dialog
cat >"$d/ro.script" <<EOF
:cohorts
U
:save-display $d/ro.txt
q
EOF
console "$d/ro.script" --read-only
if status_line "$d/ro.txt" | grep -qi "read-only" && ! grep -q "Import cohort file" "$d/ro.txt" &&
   [ "$(q "SELECT count(*) FROM lakeop.audit WHERE action = 'cohort.import'")" = 3 ]; then
    lk_pass "read-only: U refused, no dialog, nothing imported"
else
    lk_fail "read-only" "$(cat "$d/ro.txt")"
fi
tui_no_asan "$d/ro.script.err"
lk_done
