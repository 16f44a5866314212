#!/bin/sh
# make install honours PREFIX and DESTDIR: the binary and both man pages
# land under DESTDIR/PREFIX with their modes, the installed binary runs,
# the pages render, /usr/local is the default prefix, and make uninstall
# takes back exactly what install put there.
. "$(dirname "$0")/../lib/common.sh"
set -u

T=$(lk_tmpdir)
dest=$T/dest
out=$(make -s -C "$LK_ROOT" install DESTDIR="$dest" PREFIX=/opt/lakeop 2>&1); st=$?
[ $st -eq 0 ] && lk_pass "make install DESTDIR=... PREFIX=/opt/lakeop" || lk_fail "make install" "$st: $out"

mode() { stat -c %a "$1" 2>/dev/null; }
[ "$(mode "$dest/opt/lakeop/bin/lakeop")" = 755 ] && lk_pass "the binary, mode 755" \
    || lk_fail "the binary" "$(ls -lR "$dest" 2>&1)"
[ "$(mode "$dest/opt/lakeop/share/man/man1/lakeop.1")" = 644 ] &&
[ "$(mode "$dest/opt/lakeop/share/man/man5/lakeop.conf.5")" = 644 ] && lk_pass "the man pages, mode 644" \
    || lk_fail "the man pages" "$(ls -lR "$dest" 2>&1)"
v=$("$dest/opt/lakeop/bin/lakeop" --version 2>&1)
[ "$v" = "$("$LK_ROOT/lakeop" --version)" ] && lk_pass "the installed binary runs ($v)" || lk_fail "installed --version" "$v"
for page in man1/lakeop.1 man5/lakeop.conf.5; do
    if MANWIDTH=80 man -l "$dest/opt/lakeop/share/man/$page" 2>&1 >/dev/null | grep -q .; then
        lk_fail "installed $page renders" "$(MANWIDTH=80 man -l "$dest/opt/lakeop/share/man/$page" 2>&1 >/dev/null)"
    else
        lk_pass "installed $page renders without warnings"
    fi
done
n=$(find "$dest" -type f | wc -l)
[ "$n" = 3 ] && lk_pass "nothing else installed" || lk_fail "nothing else installed" "$(find "$dest" -type f)"

plan=$(make -s -n -C "$LK_ROOT" install DESTDIR="$T/default" 2>&1)
printf '%s' "$plan" | grep -q "$T/default/usr/local/bin/lakeop" && lk_pass "PREFIX defaults to /usr/local" \
    || lk_fail "default PREFIX" "$plan"

out=$(make -s -C "$LK_ROOT" uninstall DESTDIR="$dest" PREFIX=/opt/lakeop 2>&1); st=$?
n=$(find "$dest" -type f | wc -l)
[ $st -eq 0 ] && [ "$n" = 0 ] && lk_pass "make uninstall removes what install put there" \
    || lk_fail "make uninstall" "$st: $out $(find "$dest" -type f)"

lk_done
