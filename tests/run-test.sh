#!/bin/sh
# run-test.sh - runs one TAP test for automake's tap-driver.  A test that
# skips as a whole prints "1..0 # SKIP ..." and exits 77, the automake
# convention; the TAP driver would call that exit status an error, so it is
# turned into 0 here.  Any other status passes through.
"$@"
rc=$?
[ "$rc" -eq 77 ] && exit 0
exit "$rc"
