#!/usr/bin/env bash
#
# scripts_help.sh - every script in scripts/ behaves like a command-line
# tool: -h/--help prints usage on stdout and exits 0 at once, doing nothing
# else (no build, no cluster, no file created, the run dir untouched); a bad
# argument prints usage on stderr and exits 2. Colour escapes appear only on
# a terminal and never with NO_COLOR set, and no script prints raw escapes
# of its own (they all go through scripts/lib.sh). `. scripts/env` puts the
# build's snapmark first on PATH.
#
# The scripts run from a scratch working directory with SNAPMARK_RUN_DIR
# pointing at a run dir that must survive untouched; SNAPMARK_BUILD_DIR
# points at an empty directory, so a script that went ahead and built or
# started something would fail or leave files behind.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPTS=(bench bootstrap cluster demo env fuzz kill-restore-demo test)

# Every file of scripts/ (but the sourced lib.sh) is in the list above, so
# a new script cannot skip this test.
have="$(cd "$SRC/scripts" && ls | grep -vx lib.sh | sort | paste -sd' ')"
[[ $have == "${SCRIPTS[*]}" ]] ||
	fail "scripts/ holds '$have', this test knows '${SCRIPTS[*]}'"

cwd="$TEST_TMP/cwd"
fake_build="$TEST_TMP/no-build"
mkdir -p "$cwd" "$fake_build" "$RUN/pids"
echo sentinel >"$RUN/job.ini"
snapshot() { (cd "$TEST_TMP" && find . -path ./out -prune -o -print | sort); }
before="$(snapshot)"

# run_script NAME ARGS...: runs scripts/NAME from $cwd (10 s at most), with
# stdout, stderr and exit code in $TEST_TMP/out/{stdout,stderr,rc}.
run_script() {
	local name=$1 rc=0
	shift
	mkdir -p "$TEST_TMP/out"
	(cd "$cwd" && SNAPMARK_BUILD_DIR="$fake_build" timeout 10 \
		"$SRC/scripts/$name" "$@" </dev/null \
		>"$TEST_TMP/out/stdout" 2>"$TEST_TMP/out/stderr") || rc=$?
	echo "$rc" >"$TEST_TMP/out/rc"
}
show() {
	echo "--- stdout"; cat "$TEST_TMP/out/stdout"
	echo "--- stderr"; cat "$TEST_TMP/out/stderr"
}

for s in "${SCRIPTS[@]}"; do
	for h in --help -h; do
		t0=${EPOCHREALTIME//[.,]/}
		run_script "$s" "$h"
		ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
		rc=$(<"$TEST_TMP/out/rc")
		[[ $rc == 0 ]] || { show; fail "scripts/$s $h exited $rc, want 0"; }
		grep -q '^usage: ' "$TEST_TMP/out/stdout" ||
			{ show; fail "scripts/$s $h: no 'usage: ' line on stdout"; }
		[[ ! -s $TEST_TMP/out/stderr ]] ||
			{ show; fail "scripts/$s $h wrote to stderr"; }
		((ms < 5000)) || fail "scripts/$s $h took $ms ms (does it do more than print usage?)"
		[[ $(snapshot) == "$before" ]] ||
			{ diff <(echo "$before") <(snapshot) || true; fail "scripts/$s $h created or removed files"; }
	done
	run_script "$s" --no-such-option
	rc=$(<"$TEST_TMP/out/rc")
	[[ $rc == 2 ]] || { show; fail "scripts/$s --no-such-option exited $rc, want 2"; }
	grep -q '^usage: ' "$TEST_TMP/out/stderr" ||
		{ show; fail "scripts/$s --no-such-option: no usage on stderr"; }
	[[ ! -s $TEST_TMP/out/stdout ]] ||
		{ show; fail "scripts/$s --no-such-option wrote to stdout"; }
	[[ $(snapshot) == "$before" ]] || fail "scripts/$s --no-such-option created or removed files"
	say "scripts/$s: --help, -h and a bad option behave"
done

# --- colours -------------------------------------------------------------------
# No script writes escape sequences itself: colour goes through lib.sh's
# sm_color/banner, which the checks below pin down.
if grep -nE '\\(033|e|x1b)\[|\$'"'"'\\e|(^|[^[:alnum:]_])tput[[:space:]]' "$SRC"/scripts/* | grep -v '^[^:]*/lib\.sh:'; then
	fail "a script writes colour escapes without scripts/lib.sh's sm_color"
fi
# banner_via_pty NO_COLOR_SETTING: the bytes banner prints on a terminal.
banner_via_pty() {
	python3 - "$SRC/scripts/lib.sh" "$1" <<'PY'
import os, pty, sys
lib, nocolor = sys.argv[1], sys.argv[2]
env = dict(os.environ)
env.pop("NO_COLOR", None)
if nocolor != "unset":
    env["NO_COLOR"] = nocolor
pid, fd = pty.fork()
if pid == 0:
    os.execvpe("bash", ["bash", "-c", 'source "$0"; banner hello', lib], env)
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(repr(out))
PY
}
tty_plain="$(banner_via_pty unset)"
[[ $tty_plain == *'\x1b['* ]] ||
	fail "banner on a terminal without NO_COLOR has no colour: $tty_plain (the check below would prove nothing)"
for v in 1 ""; do
	out="$(banner_via_pty "$v")"
	[[ $out != *'\x1b'* ]] || fail "banner with NO_COLOR='$v' on a terminal printed escapes: $out"
done
out="$(bash -c 'source "$0"; banner hello' "$SRC/scripts/lib.sh" | od -c)"
[[ $out != *'033'* ]] || fail "banner into a pipe printed escapes: $out"
say "colours only on a terminal without NO_COLOR"

# --- scripts/env ------------------------------------------------------------------
got="$(cd "$cwd" && env -u SNAPMARK_BUILD_DIR bash -c '. "$0" && command -v snapmark && command -v snapmark-worker' "$SRC/scripts/env")"
want="$(cd "$SRC" && pwd)/build/cli/snapmark
$(cd "$SRC" && pwd)/build/worker/snapmark-worker"
[[ $got == "$want" ]] || fail ". scripts/env: snapmark is '$got', want '$want'"
got="$(cd "$cwd" && SNAPMARK_BUILD_DIR="$B" bash -c '. "$0" && . "$0" && command -v snapmark; echo "$PATH"' "$SRC/scripts/env")"
[[ $(head -n 1 <<<"$got") == "$(cd "$B" && pwd)/cli/snapmark" ]] ||
	fail ". scripts/env with SNAPMARK_BUILD_DIR: $got"
[[ $(tail -n 1 <<<"$got" | tr ':' '\n' | grep -c "^$(cd "$B" && pwd)/coordinator\$") == 1 ]] ||
	fail "sourcing scripts/env twice put build/coordinator on PATH twice"
[[ $(snapshot) == "$before" ]] || fail "scripts/env created or removed files"
say "scripts/env puts snapmark on PATH"
say "PASS"
