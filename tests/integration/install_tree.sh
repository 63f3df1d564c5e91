#!/usr/bin/env bash
#
# install_tree.sh - `meson install` lays snapmark out like a Debian tool,
# and the installed tree works on its own:
#   1. meson install --destdir puts the three binaries in BINDIR, the four
#      man pages in MANDIR/man{1,5,8}, the docs and every example job (the
#      same bytes as examples/) in DATADIR/doc/snapmark/; man finds the
#      pages there and the installed binaries answer --version; the SDK's
#      header is in INCLUDEDIR/snapmark/ with snapmark.pc, and a plugin
#      compiled with `cc $(pkg-config --cflags snapmark) -shared -fPIC`
#      against the installed header alone loads and configures through
#      the installed `snapmark validate`, and so do the installed example
#      plugins (examples/plugins) with their job file;
#   2. scripts/cluster, from a tree with no build directory, runs the
#      installed binaries found on PATH (and `start` reuses them), as the
#      README's walkthrough does with the installed examples/endless.ini:
#      up, checkpoints, kill and start a worker, savepoint --stop, and up
#      again from the savepoint with 3 counters (endless-3-counters.ini);
#   3. on the way, the formats the docs promise: every log line starts with
#      an ISO-8601 UTC timestamp ending in Z, and `snapmark checkpoints` and
#      `show` print the trigger time in that form whatever the local time
#      zone (checked against --json's trigger_time_ms with python).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEST="$TEST_TMP/dest"
meson install -C "$B" --destdir "$DEST" --no-rebuild >"$TEST_TMP/install.log" 2>&1 ||
	{ cat "$TEST_TMP/install.log"; fail "meson install --destdir failed"; }

# The install directories, as meson was configured (absolute, or relative
# to the prefix).
eval "$(meson introspect "$B" --buildoptions | python3 -c '
import json, os, shlex, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
p = o["prefix"]
for k in ("bindir", "mandir", "datadir", "includedir"):
    print("%s=%s" % (k.upper(), shlex.quote(os.path.join(p, o[k]))))
')"
bin="$DEST$BINDIR"
man="$DEST$MANDIR"
doc="$DEST$DATADIR/doc/snapmark"

for f in "$bin"/snapmark "$bin"/snapmark-coordinator "$bin"/snapmark-worker; do
	[[ -x $f && -f $f ]] || fail "not installed: ${f#"$DEST"}"
done
for f in man1/snapmark.1 man5/snapmark-job.5 man8/snapmark-coordinator.8 man8/snapmark-worker.8; do
	[[ -s $man/$f ]] || fail "not installed: ${man#"$DEST"}/$f"
done
for f in README.md ARCHITECTURE.md CLI.md JOBFILE.md SDK.md STATE.md OBSERVABILITY.md; do
	[[ -s $doc/$f ]] || fail "not installed: ${doc#"$DEST"}/$f"
done
diff -r "$SRC/examples" "$doc/examples" ||
	fail "installed examples differ from examples/"
for page in snapmark snapmark-coordinator snapmark-worker snapmark-job; do
	found="$(man --manpath="$man" -w "$page" 2>&1)" ||
		fail "man cannot find the installed $page page: $found"
	[[ $found == "$man"/man?/"$page".? ]] || fail "man -w $page found $found"
done
for b in snapmark snapmark-coordinator snapmark-worker; do
	v="$("$bin/$b" --version)" || fail "installed $b --version failed"
	[[ $v == "$b "* ]] || fail "installed $b --version: $v"
done
say "meson install: binaries, man pages, docs and examples in place ($(cd "$DEST" && find . -type f | wc -l) files)"

# --- 1b. the operator SDK: header, pkg-config, a plugin built on them ----------------
hdr="$DEST$INCLUDEDIR/snapmark/snapmark.h"
[[ -s $hdr ]] || fail "not installed: $INCLUDEDIR/snapmark/snapmark.h"
cmp -s "$hdr" "$SRC/include/snapmark/snapmark.h" || fail "installed snapmark.h differs from include/snapmark/snapmark.h"
[[ -s $DEST$DATADIR/pkgconfig/snapmark.pc ]] || fail "not installed: $DATADIR/pkgconfig/snapmark.pc"
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
# The staged tree as pkg-config sees an installed one: -I paths under DEST.
export PKG_CONFIG_PATH="$DEST$DATADIR/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$DEST"
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
want_version="$(sed -nE "s/^ *version *: *'([^']+)'.*/\1/p" "$SRC/meson.build" | head -n 1)"
[[ $(pkg-config --modversion snapmark) == "$want_version" ]] ||
	fail "snapmark.pc: version $(pkg-config --modversion snapmark), meson.build says $want_version"
hdr_api="$(sed -nE 's/^#define SNAPMARK_API_VERSION ([0-9]+)$/\1/p' "$hdr")"
[[ -n $hdr_api && $(pkg-config --variable=api_version snapmark) == "$hdr_api" ]] ||
	fail "snapmark.pc: api_version '$(pkg-config --variable=api_version snapmark)', snapmark.h says '$hdr_api'"
[[ -z $(pkg-config --libs snapmark | tr -d ' ') ]] || fail "snapmark.pc has Libs: $(pkg-config --libs snapmark)"
cflags="$(pkg-config --cflags snapmark)"
[[ $cflags == *"-I$DEST$INCLUDEDIR"* ]] || fail "pkg-config --cflags snapmark: '$cflags'"
# The plugin is compiled away from the source tree: the installed header
# is the only snapmark.h it can find.
mkdir -p "$TEST_TMP/plugin"
cp "$SRC/tests/plugins/upper.c" "$TEST_TMP/plugin/"
# shellcheck disable=SC2086 # cflags are words
(cd "$TEST_TMP/plugin" && cc $cflags -std=c99 -Wall -Wextra -Wpedantic -Werror \
	-fvisibility=hidden -shared -fPIC -o libupper.so upper.c) ||
	fail "cannot build a plugin against the installed header"
cat >"$TEST_TMP/plugin/job.ini" <<'EOF'
[job]
name = installed-plugin
[stage src]
operator = gen
records = 10
[stage up]
operator = upper
library = libupper.so
input = src forward
mode = lower
[stage sink]
operator = file
input = up forward
EOF
out="$(cd / && "$bin/snapmark" validate "$TEST_TMP/plugin/job.ini")" ||
	fail "installed snapmark validate refused the plugin's job: $out"
[[ $out == "$TEST_TMP/plugin/job.ini: ok (3 stages, 3 tasks, 1 user operator)" ]] ||
	fail "installed snapmark validate said: $out"
sed -i 's/^mode = lower$/mode = sideways/' "$TEST_TMP/plugin/job.ini"
rc=0
out="$("$bin/snapmark" validate "$TEST_TMP/plugin/job.ini" 2>&1)" || rc=$?
[[ $rc -eq 1 && $out == "snapmark: $TEST_TMP/plugin/job.ini:10: stage up: operator upper: mode must be upper or lower, not 'sideways'" ]] ||
	fail "installed snapmark validate with mode = sideways: exit $rc: $out"
# The installed example plugins build the same way, next to their job
# files (a copy of the installed folder), and their job loads them.
cp -r "$doc/examples/plugins" "$TEST_TMP/examples-plugins"
for p in tokenize sessionize; do
	# shellcheck disable=SC2086 # cflags are words
	(cd "$TEST_TMP/examples-plugins" && cc $cflags -std=c11 -Wall -Wextra -Wpedantic -Werror \
		-fvisibility=hidden -shared -fPIC -o "lib$p.so" "$p.c") ||
		fail "cannot build the installed examples/plugins/$p.c against the installed header"
done
out="$(cd / && "$bin/snapmark" validate "$TEST_TMP/examples-plugins/sessions.ini")" ||
	fail "installed snapmark validate refused the installed sessions.ini: $out"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS
say "SDK installed: snapmark.h and snapmark.pc; a plugin built with pkg-config loads and configures through the installed validate"

# --- 2. the installed tree runs a cluster ------------------------------------------
# A copy of scripts/ in a tree without build/: scripts/cluster must fall
# back to the binaries on PATH, not to the repository's build.
mkdir -p "$TEST_TMP/tree/scripts"
cp "$SRC/scripts/cluster" "$SRC/scripts/lib.sh" "$TEST_TMP/tree/scripts/"
export PATH="$bin:$PATH"
unset SNAPMARK_BUILD_DIR
icluster() { "$TEST_TMP/tree/scripts/cluster" "$@"; }
icli() { snapmark --run-dir "$RUN" "$@"; }
[[ $(command -v snapmark) == "$bin/snapmark" ]] || fail "snapmark on PATH is $(command -v snapmark)"

# exe_of NAME: the binary process NAME of $RUN runs.
exe_of() { readlink "/proc/$(<"$RUN/pids/$1.pid")/exe"; }
installed_exe() {
	local want
	want="$(realpath "$bin/$2")"
	[[ $(exe_of "$1") == "$want" ]] || fail "$1 runs $(exe_of "$1"), not the installed $want"
}
latest_at_least() {
	local v
	v="$(icli status 2>/dev/null | sed -n 's/^latest completed checkpoint: //p')"
	[[ $v =~ ^[0-9]+$ ]] && ((v >= $1))
}
state_now() { icli status 2>/dev/null | sed -n 's/^state: //p'; }
state_of() { [[ $(state_now) == "$1" ]]; }

icluster up "$doc/examples/endless.ini" 2 >/dev/null || fail "scripts/cluster up with installed binaries failed"
[[ -s $RUN/bin-dir && ! -e $RUN/build-dir ]] || fail "up did not record the installed bin dir"
installed_exe coordinator snapmark-coordinator
installed_exe worker-1 snapmark-worker
wait_for 60 latest_at_least 2
say "cluster of installed binaries RUNNING, checkpoints completing"

icluster kill worker-2 >/dev/null
icluster start worker-2 >/dev/null
installed_exe worker-2 snapmark-worker
wait_for 60 state_of RUNNING
n="$(icli status | sed -n 's/^latest completed checkpoint: //p')"
wait_for 60 latest_at_least $((n + 2))
say "worker-2 killed and started again from the installed binary; checkpoints go on"

# --- 3. timestamps ---------------------------------------------------------------------
bad="$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (coordinator|worker-[0-9]+) (DEBUG|INFO|WARN|ERROR) ' \
	"$RUN"/logs/*.log | head -n 3 || true)"
[[ -z $bad ]] || fail "log lines without an ISO-8601 UTC timestamp: $bad"
TZ=Asia/Kolkata icli checkpoints --wide >"$TEST_TMP/ck.txt"
TZ=Asia/Kolkata icli --json checkpoints >"$TEST_TMP/ck.json"
id="$(TZ=Asia/Kolkata icli status | sed -n 's/^latest completed checkpoint: //p')"
TZ=Asia/Kolkata icli show "$id" >"$TEST_TMP/show.txt"
python3 - "$TEST_TMP/ck.txt" "$TEST_TMP/ck.json" "$TEST_TMP/show.txt" "$id" <<'PY' || fail "trigger times are not ISO-8601 UTC"
import datetime, json, sys
text, js, show, sid = sys.argv[1:]
def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
want = {c["id"]: iso(c["trigger_time_ms"]) for c in json.load(open(js))["checkpoints"]}
lines = open(text).read().splitlines()
assert lines[0].split()[3] == "TRIGGERED", lines[0]
seen = 0
for l in lines[1:]:
    f = l.split()
    if int(f[0]) in want:
        assert f[3] == want[int(f[0])], (l, want[int(f[0])])
        seen += 1
assert seen >= 2, (seen, lines)
trig = [l for l in open(show) if l.startswith("triggered: ")][0].split(": ", 1)[1].strip()
if int(sid) in want:
    assert trig == want[int(sid)], (trig, want[int(sid)])
assert trig.endswith("Z") and "T" in trig, trig
print("checked %d rows" % seen)
PY
say "log lines and checkpoint times are ISO-8601 UTC with Z"

# --- the README's savepoint walkthrough ------------------------------------------------
out="$(icli savepoint --stop --dir "$TEST_TMP/sp1")" || fail "savepoint --stop failed: $out"
[[ $out =~ ^savepoint\ [0-9]+\ completed\ in\ .*:\ $TEST_TMP/sp1$ ]] || fail "savepoint said: $out"
wait_for 60 state_of FINISHED
icluster down >/dev/null
RUN="$TEST_TMP/run2"
export SNAPMARK_RUN_DIR="$RUN"
on_exit '"$TEST_TMP/tree/scripts/cluster" down >/dev/null 2>&1'
icluster up "$doc/examples/endless-3-counters.ini" 3 --restore-from "$TEST_TMP/sp1" >/dev/null ||
	fail "up --restore-from the savepoint with 3 counters failed"
installed_exe worker-3 snapmark-worker
icli status >"$TEST_TMP/status2.txt"
grep -qx 'tasks: 8/8 running' "$TEST_TMP/status2.txt" ||
	{ cat "$TEST_TMP/status2.txt"; fail "restored job does not run 8 tasks"; }
n="$(sed -n 's/^latest completed checkpoint: //p' "$TEST_TMP/status2.txt")"
[[ $n =~ ^[0-9]+$ ]] || n=0
wait_for 60 latest_at_least $((n + 1))
say "restored from the savepoint at 3 counters, checkpointing"
say "PASS"
