#!/bin/sh
# The manuals against the code they describe, so that they cannot drift
# quietly: both pages render without a warning; every action of
# tui/actions.h is in lakeop(1)'s key list with its default keys from
# tui/keymap.c; every command of screens/commands.h and every option its
# --help prints is in lakeop(1); every environment key of core/config.c is in
# lakeop.conf(5); every LAKEOP_* variable the code reads is documented; the
# README starts with the two commands for a fresh machine.
. "$(dirname "$0")/../lib/common.sh"
set -u
cd "$LK_ROOT"

M1=man/lakeop.1
M5=man/lakeop.conf.5
T=$(lk_tmpdir)

# The text of a page as a reader sees it (no hyphenation, wide lines).
render() {
    LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 -rLL=200n -rHY=0 "$1" 2>/dev/null \
        | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g'
}
render "$M1" > "$T/lakeop.1.txt"
render "$M5" > "$T/lakeop.conf.5.txt"

for m in "$M1" "$M5"; do
    out=$(LC_ALL=C.UTF-8 groff -ww -z -man -Tutf8 "$m" 2>&1)
    if [ -z "$out" ]; then lk_pass "$m renders without warnings"; else lk_fail "$m renders without warnings" "$out"; fi
    if command -v man >/dev/null 2>&1; then
        err=$(man -l "$m" 2>&1 >/dev/null)
        if [ -z "$err" ]; then lk_pass "man -l $m is quiet"; else lk_fail "man -l $m is quiet" "$err"; fi
    fi
done

# The Keys section of lakeop(1), as rendered.
sed -n '/^   Keys$/,/^   Confirmations$/p' "$T/lakeop.1.txt" > "$T/keys.txt"
if [ -s "$T/keys.txt" ]; then lk_pass "lakeop(1) has a Keys section"; else lk_fail "lakeop(1) has a Keys section" "not found"; fi

# Every action, by its config name.
missing=""
for a in $(sed -n 's/^ *X([A-Z_0-9]*, *"\([a-z0-9-]*\)".*/\1/p' tui/actions.h); do
    case "$a" in screen-[2-8]) continue ;; esac   # written as "screen-1 ... screen-9"
    grep -q -- "$a" "$T/keys.txt" || missing="$missing $a"
done
if [ -z "$missing" ]; then lk_pass "every action is in lakeop(1)'s keys"; else lk_fail "every action is in lakeop(1)'s keys" "missing:$missing"; fi

# Every default binding: the key on the line of its action.
missing=""
sed -n 's/^ *"bind \([a-z-]*\) *\([^ ]*\) *\([a-z0-9-]*\)\\n.*/\2 \3/p' tui/keymap.c > "$T/binds"
while read -r key action; do
    case "$action" in screen-*) continue ;; esac
    # The key may sit on the line above its action's name (a wrapped tag).
    if ! grep -B1 -- "$action" "$T/keys.txt" | grep -qF -- "$key"; then
        missing="$missing $key=$action"
    fi
done < "$T/binds"
if [ -z "$missing" ]; then lk_pass "every default key is in lakeop(1)"; else lk_fail "every default key is in lakeop(1)" "missing:$missing"; fi

# Every command.
missing=""
for c in $(sed -n 's/^ *X(\([a-z_]*\), .*/\1/p' screens/commands.h | tr _ -); do
    grep -q "^       $c\b\|^       $c$" "$T/lakeop.1.txt" || missing="$missing $c"
done
if [ -z "$missing" ]; then lk_pass "every command is in lakeop(1)"; else lk_fail "every command is in lakeop(1)" "missing:$missing"; fi

# Every option a command's --help prints.
missing=""
for c in export jobs job copy loads ingest retry cohort-sync cohort-import cohort-export stages clear; do
    for o in $("$LK_BIN" "$c" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        [ "$o" = --json ] && continue
        grep -q -- "$o" "$T/lakeop.1.txt" || missing="$missing $c:$o"
    done
done
if [ -z "$missing" ]; then lk_pass "every option of every command is in lakeop(1)"; else lk_fail "every option of every command is in lakeop(1)" "missing:$missing"; fi

# Every key of an environment.
missing=""
for k in $(sed -n 's/^ *{ "\([a-z0-9_.]*\)", KT_[A-Z]*, ENV_FIELD.*/\1/p' core/config.c); do
    grep -q "^       $k" "$T/lakeop.conf.5.txt" || missing="$missing $k"
done
if [ -z "$missing" ]; then lk_pass "every environment key is in lakeop.conf(5)"; else lk_fail "every environment key is in lakeop.conf(5)" "missing:$missing"; fi

# Every LAKEOP_* variable the code reads.
missing=""
for v in $(grep -rhoE '"LAKEOP_[A-Z0-9_]+"' core tui screens | tr -d '"' | sort -u); do
    grep -q "$v" "$T/lakeop.1.txt" "$T/lakeop.conf.5.txt" || missing="$missing $v"
done
if [ -z "$missing" ]; then lk_pass "every LAKEOP_* variable is documented"; else lk_fail "every LAKEOP_* variable is documented" "missing:$missing"; fi

# The README opens with the fresh-machine commands.
if head -12 README.md | grep -q '^make demo' && head -12 README.md | grep -q '^make check'; then
    lk_pass "README starts with make demo and make check"
else
    lk_fail "README starts with make demo and make check" "not in its first lines"
fi

lk_done
