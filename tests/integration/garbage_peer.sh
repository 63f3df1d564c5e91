#!/usr/bin/env bash
#
# garbage_peer.sh - strangers sending garbage to a running cluster's
# sockets must not crash, hang or fail anything:
#   a. a worker's control address at the coordinator (pair1, one peer):
#      while the worker is connected a stranger is refused; when it is
#      gone (killed after the job finished) the stranger's message is
#      dropped with "control: malformed message ... dropping the
#      connection" and the coordinator stays up and keeps answering;
#   b. the data channels (pair1, one peer): a listener that already has
#      its real sender refuses the stranger, or (if the stranger got in)
#      the worker logs "malformed frame ... dropping the connection";
#      either way no process dies and the epoch does not fail;
#   c. the CLI socket (rep0): "cli: malformed request", the coordinator
#      stays up and keeps answering.
# Afterwards the job finishes, with exactly-once output (expect.py).
#
# The job has only ~4 s of data (its source holds its last record until the
# probes are done, so it still runs then however loaded the machine is); the
# three probes run at the same time,
# right after the first checkpoint, while every channel is connected.
#
# Needs nngcat (nng-utils) and python3; a missing one fails the test.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# The processes must outlive the job (the checks after its end).
export SNAPMARK_STAY=1

need_tools nngcat python3

JOB="$TEST_TMP/garbage.ini"
cat >"$JOB" <<'EOF'
; 40000 records at 10000/s: about 4 s of data flowing through
; src.0 --c0--> pass.0 --c1--> sink.0
[job]
name = garbage

[checkpoint]
interval_ms = 200

[stage src]
operator = gen
parallelism = 1
records = 40000
rate = 10000

[stage pass]
operator = passthrough
input = src forward

[stage sink]
operator = file
input = pass forward
EOF

# nngcat sends one message and exits about 1 s later (--interval bounds its
# wait for replies; without it nngcat may wait forever or die early).
NNGCAT_ONCE=(--count 1 --interval 1 --send-timeout 1)

# Background nngcat processes, killed by pid at exit if still there.
BG=()
kill_bg() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
on_exit kill_bg

log_has() { grep -qE -- "$2" "$RUN/logs/$1.log"; }

# all_alive: the coordinator and both workers are alive (cluster status).
all_alive() {
	local st n
	st="$(cluster status)"
	for n in coordinator worker-1 worker-2; do
		grep -qE "^$n +pid [0-9]+ +alive" <<<"$st" ||
			fail "$n is not alive: $(grep "^$n" <<<"$st")"
	done
}

say "starting a coordinator and 2 workers on a 4 s job"
hold_sources
cluster up "$JOB" 2
wait_for 120 completed_at_least 1
EPOCH="$(field epoch)"
CHANNELS=()
for f in "$RUN/sock/e$EPOCH-c"*; do
	[[ -S $f ]] && CHANNELS+=("${f##*/}")
done
say "running in epoch $EPOCH, a checkpoint has completed; channels: ${CHANNELS[*]}"
[[ ${#CHANNELS[@]} -eq 2 ]] ||
	fail "expected 2 channel sockets of epoch $EPOCH in $RUN/sock, found: $(ls "$RUN/sock")"

say "sending garbage to ${CHANNELS[*]} and the CLI socket"
ch_pids=()
for ch in "${CHANNELS[@]}"; do
	timeout 5 nngcat --pair1 --dial "ipc://$RUN/sock/$ch" \
		--data 'garbage bytes' "${NNGCAT_ONCE[@]}" >"$TEST_TMP/nngcat-$ch.out" 2>&1 &
	ch_pids+=("$!")
	BG+=("$!")
done
timeout 5 nngcat --req0 --dial "ipc://$RUN/cli.ipc" --data x \
	>"$TEST_TMP/nngcat-cli.out" 2>&1 &
cli_pid=$!
BG+=("$cli_pid")

# ---------------------------------------------------------------- (c)
say "(c) CLI socket: the coordinator logs 'cli: malformed request' and answers"
wait_for 60 log_has coordinator 'WARN cli: malformed request of 1 bytes'
rc=0
wait "$cli_pid" || rc=$?
[[ $rc -eq 0 ]] || fail "nngcat --req0 got no reply to its malformed request (exit $rc)"

# ---------------------------------------------------------------- (b)
# A pair1 listener takes one peer: while the real sender is connected a
# stranger's pipe is rejected by the protocol, so its bytes never reach the
# task. nngcat cannot tell (its send into the doomed pipe "succeeds"), so
# the verdict comes from the receiving worker's log: a "malformed frame"
# line means the stranger got in and was dropped; none means refused.
say "(b) data channels: each stranger refused, or its frame dropped as malformed"
for i in "${!ch_pids[@]}"; do
	rc=0
	wait "${ch_pids[i]}" || rc=$?
	ch=${CHANNELS[i]}
	echo "nngcat to $ch exited $rc: $(tr '\n' ' ' <"$TEST_TMP/nngcat-$ch.out")"
	[[ $rc -ne 124 ]] || fail "nngcat to $ch hung (killed by timeout)"
	if grep -E "channel ${ch#*-c}: malformed frame of 13 bytes from pipe [0-9]+ \(.*\): dropping the connection" \
		"$RUN"/logs/worker-*.log; then
		say "   $ch: the stranger got in; its frame was dropped as malformed"
	else
		say "   $ch: the stranger was refused (no frame reached the task)"
	fi
done

say "the job is still RUNNING in epoch $EPOCH, every process alive"
status_now
# Still RUNNING: the channels' listeners were up during the whole probe.
[[ $(field state) == RUNNING ]] ||
	fail "state is $(field state) after the garbage (want RUNNING; did the job end before the probes?)"
[[ $(field epoch) == "$EPOCH" ]] ||
	fail "the epoch changed from $EPOCH to $(field epoch): $(field 'last failure')"
all_alive
say "   the CLI still gets answers"
cli status

# ------------------------------------------------------------ the end
say "the job finishes, every process still up"
release_sources
cluster wait 180
all_alive
say "no epoch failed, nothing restarted"
if grep -E 'epoch [0-9]+ failed' "$RUN/logs/coordinator.log"; then
	fail "an epoch failed because of a stranger's garbage"
fi
status_now
[[ $(field restarts) == 0 ]] || fail "restarts = $(field restarts), want 0"
say "the committed output is exact"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "expect.py check failed"

# ---------------------------------------------------------------- (a)
say "(a) control address of a worker that is gone: the coordinator logs the"
say "    malformed message, drops that connection and keeps answering"
cluster kill worker-2 >/dev/null
# Until the coordinator has seen worker 2 go, a dial may still reach the
# socket it is about to replace (and the message go with it): send again
# every 2 s until the refusal is logged.
MALFORMED='WARN control: malformed message of 13 bytes from pipe [0-9]+: dropping the connection'
garbage_refused() {
	log_has coordinator "$MALFORMED" && return 0
	timeout 5 nngcat --pair1 --dial "ipc://$RUN/coordinator-2.ipc" \
		--data 'garbage bytes' "${NNGCAT_ONCE[@]}" >>"$TEST_TMP/nngcat-ctl.out" 2>&1
	sleep 2
	log_has coordinator "$MALFORMED"
}
wait_for 60 garbage_refused
grep -E 'control: malformed message' "$RUN/logs/coordinator.log"
st="$(cluster status)"
grep -qE "^coordinator +pid [0-9]+ +alive" <<<"$st" || fail "the coordinator died"
cli status | grep -qx 'state: FINISHED' || fail "the coordinator stopped answering"
say "PASS"
