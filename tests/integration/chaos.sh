#!/usr/bin/env bash
#
# chaos.sh - exactly-once under a storm of SIGKILLs.
#
# Three bounded jobs run with a checkpoint every 100 ms on a coordinator and
# 3 workers; while data flows, at least 10 processes per job (>= 20 in all)
# are killed with SIGKILL at random moments and started again:
#   passthrough  gen (2, 150000 records at 6000/s each) -forward->
#                passthrough (2) -forward-> file (2): every record exactly
#                once in the committed output
#   count        gen (2, 120000 records at 5000/s, 2000 keys) -hash->
#                count (3) -forward-> file (3): every key once, with its
#                exact count
#   sessions     gen (2, 120000 records at 5000/s, 2000 keys) -hash->
#                sessionize (3, the example plugin with keyed state and
#                event-time timers, examples/plugins/sessionize.c, loaded
#                from the build) -forward-> file (3, text): every session
#                of every key exactly once (expect.py computes them from
#                gen's definition)
# Each carries about 25 s of data. The kills take 6-8 s on an idle 2-core
# machine, but every fork of the test (and every restore) is slower on a
# loaded one or under ASan while the sources keep their pace: the sources
# hold back their last record until the kills are done (hold_sources,
# SNAPMARK_DEBUG_GEN_HOLD), so the job cannot end before them. Afterwards
# each job must reach FINISHED on its own and expect.py check (the
# independent model of the gen source) must pass.
#
# Randomness: one seed drives everything (bash's $RANDOM, seeded with it):
# for each kill episode the delay before the kill (50-600 ms), the victim
# (coordinator or worker-1..3), whether the kill waits for the next
# periodic checkpoint (the test follows the coordinator's log and kills the
# moment it says "checkpoint N triggered", so the kill lands while N is in
# flight), and what happens after the kill:
#   60%  the victim is started again at once
#   20%  it is started again after a pause (100-500 ms) - the coordinator
#        waits in RESTARTING, or the workers run on without a coordinator
#   20%  after the pause a second process is killed too, while the job is
#        restoring, then both are started again (in random order)
# The last episodes of a job force a coordinator kill, a double kill and a
# kill at a trigger if the dice have not produced them yet (or if the kills
# at a trigger all missed their checkpoint: then the job gets up to 4 kills
# more). The seed is printed first:
#   chaos seed: S
# and replays the same decisions (the timing of the processes, of course,
# differs from run to run):
#   CHAOS_SEED=S meson test -C build chaos --print-errorlogs
#   CHAOS_SEED=S bash tests/integration/chaos.sh
# CHAOS_KILLS (default 12) is the number of kills aimed at per job; the test
# fails if a job gets fewer than 10 before it finishes.
#
# At the end it prints, per job, every kill with its time, its victim, the
# job's state just before, and whether it landed while a checkpoint was in
# flight (from the coordinator's log) or during a restore, and the number
# of restarts the coordinator counted.
#
# Kills are plain `kill -KILL PID` on the pid scripts/cluster recorded (not
# `cluster kill`, whose own start-up would blur "at the trigger"); every
# victim is then started again with `cluster start NAME`.
#
# Three more kinds of fault, each on unless its variable is 0 (the seed
# draws the same numbers either way, so a seed replays the other kinds'
# decisions with a kind turned off):
#   CHAOS_PAUSES=1                 SIGSTOP/SIGCONT pauses: per job one worker
#                                  paused shorter (300-1200 ms) and one longer
#                                  (2000-3500 ms) than the heartbeat timeout
#                                  (the jobs then run with heartbeat_ms = 100,
#                                  heartbeat_timeout_ms = 1500), and the
#                                  coordinator paused once per
#                                  job, short in one job and long in the next.
#                                  After each pause the job must recover: a
#                                  checkpoint triggered after the SIGCONT
#                                  completes (or the job finishes) within
#                                  60 s, else the test fails (a hang).
#   CHAOS_KILL_AFTER_CHECKPOINT=1  per job two kills of a worker that hosts a
#                                  sink task, the moment the coordinator logs
#                                  "checkpoint N completed" (the sink has yet
#                                  to publish N's pre-committed output).
#   CHAOS_KILL_AFTER_FINISH=1      the moment the coordinator logs the final
#                                  checkpoint's completion, a sink's worker
#                                  (and, for one seed in three, then the
#                                  coordinator) is killed and started again;
#                                  the job must still end FINISHED with
#                                  every record committed.
# Every CLI call is bounded (30 s): a `snapmark status` that hangs fails the
# test instead of hanging it.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Processes that exit by themselves at the end would look like crashes to
# check_all_alive: they stay up.
export SNAPMARK_STAY=1

if [[ -n ${CHAOS_SEED:-} ]]; then
	[[ $CHAOS_SEED =~ ^[0-9]{1,9}$ ]] ||
		fail "CHAOS_SEED must be a decimal integer of at most 9 digits, not '$CHAOS_SEED'"
	SEED=$((10#$CHAOS_SEED))
else
	SEED=$(((RANDOM << 15 | RANDOM) % 1000000000))
fi
echo "chaos seed: $SEED"
echo "replay with: CHAOS_SEED=$SEED meson test -C build chaos --print-errorlogs"
RANDOM=$SEED

# The kinds of fault beyond the SIGKILL storm (see the header).
for var in CHAOS_PAUSES CHAOS_KILL_AFTER_CHECKPOINT CHAOS_KILL_AFTER_FINISH; do
	[[ ${!var:-1} =~ ^[01]$ ]] || fail "$var must be 0 or 1, not '${!var}'"
done
PAUSES=${CHAOS_PAUSES:-1}
KILL_AFTER_CP=${CHAOS_KILL_AFTER_CHECKPOINT:-1}
KILL_AFTER_FINISH=${CHAOS_KILL_AFTER_FINISH:-1}
HB_TIMEOUT_MS=1500 # the jobs' heartbeat_timeout_ms when PAUSES=1
echo "fault kinds: kills, pauses=$PAUSES, kill after checkpoint=$KILL_AFTER_CP, kill after finish=$KILL_AFTER_FINISH"
# Which job pauses its coordinator longer than the heartbeat timeout.
COORD_LONG_JOB=$((RANDOM % 2))

KILLS_TARGET=${CHAOS_KILLS:-12} # kills aimed at per job
KILLS_MIN=10                    # fewer than this per job fails the test
KILLS_MIN_TOTAL=20
WORKERS=3
if ! [[ $KILLS_TARGET =~ ^[0-9]{1,4}$ ]] || ((KILLS_TARGET < KILLS_MIN)); then
	fail "CHAOS_KILLS must be a number of at least $KILLS_MIN"
fi

EXPECT="$SRC/tests/integration/expect.py"
TOTAL_KILLS=0
SUMMARY=()

# ------------------------------------------------------------------ helpers

now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((10#$t / 1000))
}

# rand N: R = a random number in 0..N-1 (from the seeded $RANDOM; never call
# it in a subshell, whose $RANDOM would not follow the seed).
rand() {
	R=$((RANDOM % $1))
}

# NAMES[I]: victim I (0 the coordinator, K worker-K).
NAMES=(coordinator)
for ((k = 1; k <= WORKERS; k++)); do
	NAMES+=("worker-$k")
done

# use_run NAME: this job's run dir (kept apart so that a failure leaves the
# logs of the job that failed, and the EXIT trap brings down the current one).
use_run() {
	RUN="$TEST_TMP/$1"
	export SNAPMARK_RUN_DIR="$RUN"
}

# pid_alive PID: PID exists and is not a zombie. (Builtins only, here and
# in the other helpers of the kill loop: on a loaded machine every fork
# slows the loop down while the job's sources keep their pace.)
pid_alive() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat="${stat##*) }"
	[[ ${stat%% *} != Z && ${stat%% *} != X ]]
}

pid_gone() {
	! pid_alive "$1"
}

# alive NAME: NAME's recorded process runs.
alive() {
	local pid
	read -r pid 2>/dev/null <"$RUN/pids/$1.pid" || return 1
	pid_alive "$pid"
}

# check_all_alive WHEN: every process of the cluster runs; one that died on
# its own (a crash) fails the test.
check_all_alive() {
	local name
	for name in "${NAMES[@]}"; do
		alive "$name" || fail "$name died on its own ($1); its log:$(
			echo
			tail -n 40 "$RUN/logs/$name.log"
		)"
	done
}

# cli_checked ARGS...: the CLI with its stdout in CLI_OUT, its stderr in
# CLI_ERR and its exit code in CLI_RC. A sanitizer report on its stderr
# fails the test (the cluster's logs are searched by lib.sh; the CLI's
# stderr is ours to look at).
cli_checked() {
	CLI_RC=0
	CLI_OUT="$(timeout -k 5 30 "$B/cli/snapmark" --run-dir "$RUN" "$@" \
		2>"$TEST_TMP/cli.err")" || CLI_RC=$?
	CLI_ERR="$(<"$TEST_TMP/cli.err")"
	if ((CLI_RC == 124 || CLI_RC == 137)); then
		printf '%s\n' "$CLI_ERR"
		diagnose
		fail "snapmark $* did not return within 30 s: the CLI hangs (seed $SEED)"
	fi
	if [[ $CLI_ERR =~ runtime\ error|ERROR:\ (AddressSanitizer|LeakSanitizer) ]]; then
		printf '%s\n' "$CLI_ERR"
		fail "sanitizer report from: snapmark $* (exit $CLI_RC)"
	fi
}

# query: ST (job state, or "down" if the coordinator does not answer),
# PEND (pending checkpoints) and RESTARTS from `snapmark status`. Any other
# failure of the CLI fails the test.
query() {
	ST=down PEND=- RESTARTS=-
	cli_checked --timeout 2000 status
	if ((CLI_RC != 0)); then
		[[ $CLI_ERR == *"did not answer"* || $CLI_ERR == *"is not running"* ]] && return 0
		printf '%s\n' "$CLI_ERR"
		fail "snapmark status failed (exit $CLI_RC)"
	fi
	[[ $CLI_OUT =~ (^|$'\n')state:\ ([A-Z_]+) ]] && ST=${BASH_REMATCH[2]}
	[[ $CLI_OUT =~ (^|$'\n')pending\ checkpoints:\ ([^$'\n']*) ]] && PEND=${BASH_REMATCH[2]}
	[[ $CLI_OUT =~ (^|$'\n')restarts:\ ([0-9]+) ]] && RESTARTS=${BASH_REMATCH[2]}
	# The workers that host a sink task, from the WORKER/TASKS table (the
	# last list seen is kept while the job is between epochs).
	local row sinks=()
	while read -r row; do
		[[ $row =~ ^([0-9]+)\ +(yes|no)\ +[0-9-]+\ +([^ ]*sink\.[0-9][^ ]*)$ ]] &&
			sinks+=("worker-${BASH_REMATCH[1]}")
	done <<<"$CLI_OUT"
	((${#sinks[@]} == 0)) || SINK_WORKERS=("${sinks[@]}")
	return 0
}

# aim NAME: look up NAME's pid (into KPID) ahead of the kill, so that the
# kill itself is one builtin away from the command before it.
aim() {
	read -r KPID <"$RUN/pids/$1.pid"
	pid_alive "$KPID" || fail "$1 (pid $KPID) died on its own before kill #$((kills + 1))"
}

# sigkill NAME HOW: SIGKILL the process aim found, record the kill, wait
# until it is gone.
sigkill() {
	local name=$1 how=$2 t=${EPOCHREALTIME//[.,]/}
	kill -KILL "$KPID"
	t=$((10#$t / 1000))
	kills=$((kills + 1))
	K_MS+=("$t")
	local line
	printf -v line '#%-3d +%6.3fs  %-12s %-34s state before: %s, pending: %s' \
		"$kills" "$((t - JOB_T0))e-3" "$name" "$how" "$ST" "$PEND"
	K_LINE+=("$line")
	[[ $name == coordinator ]] && coord_kills=$((coord_kills + 1))
	say "kill #$kills: $name (pid $KPID), $how; job was $ST, pending checkpoints: $PEND"
	wait_for 10 pid_gone "$KPID"
}

# follow_log: a coprocess that follows the coordinator's log (across its
# restarts: the log is appended to), for wait_trigger.
follow_log() {
	coproc CPLOG { exec tail -n 0 -F "$RUN/logs/coordinator.log" 2>/dev/null; }
	LOG_PID=$CPLOG_PID
}

stop_following() {
	if [[ -n ${LOG_PID:-} ]]; then
		kill "$LOG_PID" 2>/dev/null || true
		wait "$LOG_PID" 2>/dev/null || true
		LOG_PID=
	fi
}

# wait_trigger: until the coordinator logs "checkpoint N triggered" (N in
# TRIGGERED), at most 2 s; lines logged before the call are skipped.
wait_trigger() {
	local line fd=${CPLOG[0]}
	local deadline=$((${EPOCHREALTIME//[.,]/} / 1000 + 2000))
	while read -r -t 0 -u "$fd" && read -r -t 1 -u "$fd" line; do
		:
	done
	while ((${EPOCHREALTIME//[.,]/} / 1000 < deadline)); do
		read -r -t 0.2 -u "$fd" line || continue
		if [[ $line =~ checkpoint\ ([0-9]+)\ triggered ]]; then
			TRIGGERED=${BASH_REMATCH[1]}
			return 0
		fi
	done
	return 1
}

# drain_log: skip the lines the coordinator logged so far.
drain_log() {
	local line fd=${CPLOG[0]}
	while read -r -t 0 -u "$fd" && read -r -t 1 -u "$fd" line; do
		:
	done
}

# wait_log_line MS REGEX: until the coordinator logs a line matching REGEX
# (lines logged before the call are skipped only if drain_log ran first), at
# most MS ms; the line is left in LOG_LINE (BASH_REMATCH from the match).
wait_log_line() {
	local fd=${CPLOG[0]}
	local deadline=$((${EPOCHREALTIME//[.,]/} / 1000 + $1))
	while ((${EPOCHREALTIME//[.,]/} / 1000 < deadline)); do
		read -r -t 0.2 -u "$fd" LOG_LINE || continue
		[[ $LOG_LINE =~ $2 ]] && return 0
	done
	return 1
}

# wait_recovered MS: until a checkpoint triggered after this call completes
# (the job runs again), or the final one completes; at most MS ms. Sets
# RECOVERED_MS. The caller drains the log first.
wait_recovered() {
	local fd=${CPLOG[0]} t0=${EPOCHREALTIME//[.,]/} line
	local deadline=$((${EPOCHREALTIME//[.,]/} / 1000 + $1))
	local -A fresh=()
	while ((${EPOCHREALTIME//[.,]/} / 1000 < deadline)); do
		read -r -t 0.2 -u "$fd" line || continue
		if [[ $line =~ checkpoint\ ([0-9]+)\ triggered ]]; then
			fresh[${BASH_REMATCH[1]}]=1
		elif [[ $line =~ checkpoint\ ([0-9]+)\ completed ]] &&
			[[ -n ${fresh[${BASH_REMATCH[1]}]:-} || $line == *"(final)"* ]]; then
			RECOVERED_MS=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
			return 0
		fi
	done
	return 1
}

# pause NAME MS WHAT: SIGSTOP NAME for MS ms, SIGCONT it, and wait until
# the job has recovered (see wait_recovered); a job that does not within
# 60 s fails the test.
pause() {
	local name=$1 ms=$2 what=$3 pid t line
	read -r pid <"$RUN/pids/$name.pid"
	pid_alive "$pid" || fail "$name (pid $pid) died on its own before its pause"
	query
	if [[ $ST == FINISHED ]]; then
		say "job FINISHED before the pause of $name"
		return 0
	fi
	t=$(now_ms)
	kill -STOP "$pid"
	pauses=$((pauses + 1))
	say "pause #$pauses: SIGSTOP $name (pid $pid) for $ms ms ($what); job was $ST"
	msleep "$ms"
	drain_log
	kill -CONT "$pid"
	if ! wait_recovered 60000; then
		query
		diagnose
		fail "job did not recover within 60 s after $name was paused for $ms ms ($what): state $ST, last failure in the log: $(grep -E 'failed|no heartbeat' "$RUN/logs/coordinator.log" | tail -n 3) (seed $SEED)"
	fi
	printf -v line '#%-3d +%6.3fs  %-12s paused %4d ms (%s); recovered %d ms after SIGCONT' \
		"$pauses" "$((t - JOB_T0))e-3" "$name" "$ms" "$what" "$RECOVERED_MS"
	P_LINE+=("$line")
	say "   job recovered $RECOVERED_MS ms after SIGCONT of $name"
	check_all_alive "after the pause of $name"
}

# sink_worker I: into SINK: one of the workers that host a sink task (the
# I-th, modulo their number) by the latest status.
sink_worker() {
	if ((${#SINK_WORKERS[@]} == 0)); then
		SINK=worker-$((1 + $1 % WORKERS))
	else
		SINK=${SINK_WORKERS[$1 % ${#SINK_WORKERS[@]}]}
	fi
}

# diagnose: evidence for a job that does not finish: the processes and,
# for every worker the coordinator found silent (no heartbeat) whose
# process is still alive, where its threads are (gdb if installed).
diagnose() {
	local pid th comm wchan
	cluster status 2>&1 || true
	while read -r pid; do
		pid_alive "$pid" || continue
		echo "--- pid $pid is alive but its heartbeats stopped; its threads:"
		for th in /proc/"$pid"/task/*; do
			read -r comm <"$th/comm" || comm='?'
			wchan="$(cat "$th/wchan" 2>/dev/null)" || wchan='?'
			echo "    thread ${th##*/} ($comm): waiting in ${wchan:-?}"
		done
		if command -v gdb >/dev/null 2>&1; then
			timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt' 2>&1 |
				grep -E '^(Thread |#)' || true
		fi
	done < <(sed -n 's/.*(pid \([0-9]*\)) sent no heartbeat.*/\1/p' \
		"$RUN/logs/coordinator.log" | sort -u)
}

restart() {
	cluster start "$1" >/dev/null || fail "cluster start $1 failed"
}

msleep() {
	local s
	printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
	sleep "$s"
}

# classify: prints, for every kill (K_MS), whether it landed while a
# checkpoint was in flight according to the coordinator's log (a checkpoint
# is in flight from its "triggered" line to its "completed"/"failed" line,
# or, if the coordinator died first, to the start of the next coordinator),
# and the number of checkpoints a kill aborted.
classify() {
	python3 - "$RUN/logs/coordinator.log" "${K_MS[@]}" <<'EOF'
import calendar, re, sys, time
log, kills = sys.argv[1], [int(x) for x in sys.argv[2:]]
def ms(ts):
    base, frac = ts.split('.')
    return calendar.timegm(time.strptime(base, '%Y-%m-%dT%H:%M:%S')) * 1000 + int(frac[:3].ljust(3, '0'))
open_cp, spans, aborted = {}, [], 0
for line in open(log, errors='replace'):
    m = re.match(r'(\d{4}-\d\d-\d\dT[\d:.]+)Z? ', line)
    if not m:
        continue
    t = ms(m.group(1))
    if re.search(r'coordinator \(pid \d+\) for job', line):
        for cid, t0 in open_cp.items():
            spans.append((cid, t0, t))   # died with it in flight
        open_cp = {}
        continue
    m2 = re.search(r'checkpoint (\d+) triggered', line)
    if m2:
        open_cp[int(m2.group(1))] = t
        continue
    m2 = re.search(r'checkpoint (\d+) (completed|failed)', line)
    if m2 and int(m2.group(1)) in open_cp:
        spans.append((int(m2.group(1)), open_cp.pop(int(m2.group(1))), t))
        if m2.group(2) == 'failed' and 'epoch' in line:
            aborted += 1
for cid, t0 in open_cp.items():
    spans.append((cid, t0, 1 << 62))
hit = 0
for i, k in enumerate(kills, 1):
    during = sorted(c for c, a, b in spans if a <= k <= b)
    if during:
        hit += 1
    print(f'kill #{i}: ' + (f'checkpoint {",".join(map(str, during))} in flight'
                            if during else 'no checkpoint in flight'))
print(f'SUMMARY {hit} {aborted}')
EOF
}

# ------------------------------------------------------------------ one job

# chaos_job NAME JOBFILE DESCRIPTION: run JOBFILE on a fresh cluster under
# kills, then check its output exactly.
chaos_job() {
	local job=$1 jobfile=$2 what=$3
	local kills=0 coord_kills=0 doubles=0 restore_kills=0 episode=0 hits=0
	local delay victim at_cp mode pause second order name name2 how out
	local pauses=0 after_cp=0 at_done
	K_MS=() K_LINE=() P_LINE=() SINK_WORKERS=()
	# The new kinds' schedule, drawn up front whether or not they are on:
	# the episodes (1..KILLS_TARGET-4) of the pauses and of the kills
	# right after a checkpoint completes, the victims and the durations.
	local span=$((KILLS_TARGET - 4)) p_ws_at p_wl_at p_c_at p_ws p_wl
	local p_ws_ms p_wl_ms p_c_ms p_c_what ck1_at ck2_at sink_pick fin_coord
	rand "$span"; p_ws_at=$((1 + R))
	rand "$span"; p_wl_at=$((1 + R))
	rand "$span"; p_c_at=$((1 + R))
	rand "$WORKERS"; p_ws=$((1 + R))
	rand "$WORKERS"; p_wl=$((1 + R))
	rand 901; p_ws_ms=$((300 + R))
	rand 1501; p_wl_ms=$((2000 + R))
	rand 901; p_c_ms=$((300 + R))
	rand 1501
	p_c_what="shorter than the heartbeat timeout"
	if (((${#SUMMARY[@]} % 2) == COORD_LONG_JOB)); then
		p_c_ms=$((2000 + R))
		p_c_what="longer than the heartbeat timeout"
	fi
	rand "$span"; ck1_at=$((1 + R))
	rand "$span"; ck2_at=$((1 + R))
	((ck2_at != ck1_at)) || ck2_at=$((ck1_at % span + 1))
	rand 6; sink_pick=$R
	rand 3; fin_coord=$((R == 0))
	use_run "$job"
	# Each source holds back its last record until the kills are done,
	# so that a slow (loaded) machine cannot end the job before them.
	hold_sources "$job"
	say "== job $job: $what"
	cluster up "$jobfile" "$WORKERS" >/dev/null || fail "cluster up $job failed"
	JOB_T0="$(now_ms)"
	follow_log

	# Past the target, keep going (at most 4 more kills) until one kill
	# has landed while a checkpoint was in flight.
	while ((kills < KILLS_TARGET || (hits == 0 && kills < KILLS_TARGET + 4))); do
		episode=$((episode + 1))
		# Every decision of the episode is drawn up front, whatever
		# happens later, so a seed always yields the same sequence.
		rand 551
		delay=$((50 + R))
		rand $((WORKERS + 1))
		victim=$R
		rand 4
		at_cp=$((R == 0))
		rand 10
		mode=$R
		rand 401
		pause=$((100 + R))
		rand "$WORKERS"
		second=$(((victim + 1 + R) % (WORKERS + 1)))
		rand 2
		order=$R
		if ((kills >= KILLS_TARGET - 2)); then
			if ((coord_kills == 0 && victim != 0)); then
				victim=0
				((second != 0)) || second=1
			fi
			((doubles > 0)) || mode=8
		fi
		if ((kills >= KILLS_TARGET - 3 && hits == 0)); then
			at_cp=1
		fi
		name=${NAMES[victim]}
		name2=${NAMES[second]}
		at_done=0
		if ((KILL_AFTER_CP && (episode == ck1_at || episode == ck2_at))); then
			at_done=1
			at_cp=0
		fi

		if ((PAUSES)); then
			((episode != p_ws_at)) ||
				pause "worker-$p_ws" "$p_ws_ms" "shorter than the heartbeat timeout"
			((episode != p_wl_at)) ||
				pause "worker-$p_wl" "$p_wl_ms" "longer than the heartbeat timeout"
			((episode != p_c_at)) ||
				pause coordinator "$p_c_ms" "$p_c_what"
		fi

		msleep "$delay"
		check_all_alive "before kill #$((kills + 1))"
		query
		if [[ $ST == FINISHED ]]; then
			say "job $job FINISHED before the kills were done"
			break
		fi
		if ((at_done)); then
			sink_worker "$sink_pick"
			sink_pick=$((sink_pick + 1))
			name=$SINK
			[[ $name2 != "$name" ]] || name2=coordinator
		fi
		[[ $ST == RUNNING ]] || restore_kills=$((restore_kills + 1))
		aim "$name"
		how="after ${delay} ms"
		if ((at_done)); then
			# The sink's worker dies the moment the coordinator
			# says N completed: the sink has N's pre-committed
			# output still to publish.
			drain_log
			if wait_log_line 5000 'checkpoint ([0-9]+) completed'; then
				how="right after checkpoint ${BASH_REMATCH[1]} completed"
				after_cp=$((after_cp + 1))
			else
				how="after ${delay} ms + 5 s without a completion"
			fi
		elif ((at_cp)); then
			# A checkpoint is in flight for a few ms only: kill
			# the moment the coordinator logs the next trigger.
			if wait_trigger; then
				how="as checkpoint $TRIGGERED was triggered"
			else
				how="after ${delay} ms + 2 s without a trigger"
			fi
		fi
		sigkill "$name" "$how"

		if ((mode <= 5)); then
			restart "$name"
		elif ((mode <= 7)); then
			msleep "$pause"
			restart "$name"
		else
			msleep "$pause"
			if [[ $name == coordinator ]]; then
				ST=down PEND=-
			else
				query
			fi
			if [[ $ST == FINISHED ]]; then
				restart "$name"
				say "job $job FINISHED before the kills were done"
				break
			fi
			doubles=$((doubles + 1))
			restore_kills=$((restore_kills + 1))
			[[ $ST != RUNNING ]] || say "note: the job is RUNNING again $pause ms after killing $name"
			aim "$name2"
			sigkill "$name2" "${pause} ms after killing $name"
			if ((order)); then
				restart "$name2"
				restart "$name"
			else
				restart "$name"
				restart "$name2"
			fi
		fi
		if ((kills >= KILLS_TARGET - 4)); then
			hits="$(classify | sed -n 's/^SUMMARY \([0-9]*\) .*/\1/p')"
		fi
	done
	release_sources "$job"
	local loop_kills=$kills fin_what=off
	if ((KILL_AFTER_FINISH)) && [[ $ST == FINISHED ]]; then
		fin_what="none (the job FINISHED during the kills)"
		say "job $job FINISHED during the kills: no kill after the finish"
	elif ((KILL_AFTER_FINISH)); then
		# The end: the moment the coordinator says the final
		# checkpoint completed, a sink's worker dies (and maybe the
		# coordinator after it), before the sink may have published.
		query
		sink_worker "$sink_pick"
		name=$SINK
		aim "$name"
		if ! wait_log_line 180000 'checkpoint ([0-9]+) completed.*\(final\)'; then
			diagnose
			fail "job $job: its final checkpoint did not complete within 180 s after the kills (seed $SEED)"
		fi
		local final=${BASH_REMATCH[1]}
		ST="final completed" PEND=-
		sigkill "$name" "right after final checkpoint $final completed"
		fin_what="$name"
		if ((fin_coord)); then
			aim coordinator
			sigkill coordinator "right after killing $name at the end"
			restart coordinator
			fin_what+=" and the coordinator"
		fi
		restart "$name"
		fin_what+=" killed right after final checkpoint $final completed"
	fi
	stop_following
	TOTAL_KILLS=$((TOTAL_KILLS + kills))
	say "job $job: $kills kills in $episode episodes ($coord_kills of the coordinator, $doubles double kills, $restore_kills while the job was not RUNNING, $after_cp right after a checkpoint completed), $pauses pauses"
	((loop_kills >= KILLS_MIN)) ||
		fail "job $job got only $loop_kills kills (want >= $KILLS_MIN) before it finished: make it carry more data"
	((!KILL_AFTER_CP || after_cp >= 1)) ||
		fail "job $job: no kill landed right after a checkpoint completed (seed $SEED)"
	((!PAUSES || pauses == 3)) ||
		fail "job $job: $pauses pauses instead of 3 (seed $SEED)"

	check_all_alive "after the kills"
	if ! out="$(cluster wait 180 2>&1)"; then
		echo "$out"
		diagnose
		fail "job $job did not reach FINISHED within 180 s after the kills (seed $SEED)"
	fi
	query
	[[ $ST == FINISHED ]] || fail "job $job: state $ST after cluster wait (seed $SEED)"
	check_all_alive "after FINISHED"
	say "job $job FINISHED after $(($(now_ms) - JOB_T0)) ms; restarts counted by the coordinator: $RESTARTS"
	if ! [[ $RESTARTS =~ ^[0-9]+$ ]] || ((RESTARTS < 1)); then
		fail "job $job: restarts '$RESTARTS' after $kills kills"
	fi

	local cls hit aborted i
	cls="$(classify)"
	read -r _ hit aborted < <(grep '^SUMMARY' <<<"$cls")
	say "job $job kills (times from the cluster's start):"
	for ((i = 0; i < ${#K_LINE[@]}; i++)); do
		printf '  %s; %s\n' "${K_LINE[i]}" \
			"$(sed -n "s/^kill #$((i + 1)): //p" <<<"$cls")"
	done
	say "job $job: $hit of $kills kills landed while a checkpoint was in flight ($aborted checkpoints aborted by a failure)"
	if ((${#P_LINE[@]} > 0)); then
		say "job $job pauses (times from the cluster's start):"
		printf '  %s\n' "${P_LINE[@]}"
	fi
	((hit >= 1)) || fail "job $job: no kill landed while a checkpoint was in flight (seed $SEED)"
	((restore_kills >= 1)) || fail "job $job: no kill landed during a restore (seed $SEED)"

	local rc=0
	out="$(python3 "$EXPECT" check "$RUN" "$jobfile" 2>&1)" || rc=$?
	printf '  expect.py check: %s\n' "$out"
	if ((rc != 0)); then
		echo "--- cluster logs (last 60 lines)"
		cluster logs | tail -n 60
		fail "job $job: committed output is not exactly-once (seed $SEED)"
	fi
	SUMMARY+=("$job: $kills kills ($coord_kills coordinator, $restore_kills during a restore, $hit during a checkpoint, $after_cp right after one completed), $pauses pauses, after the finish: $fin_what; $RESTARTS restarts, $(head -n 1 <<<"$out")")

	# Leaks show when the processes exit: bring them down now and look, as
	# lib.sh does at exit for the last run dir only.
	cluster down >/dev/null
	_sanitizer_reports || fail "job $job: sanitizer report"
}

# ------------------------------------------------------------------ the jobs

LOG_PID=
on_exit stop_following

# With pauses: heartbeats that make a 2-3.5 s pause a timeout.
HB=""
PT_RECORDS=150000 CT_RECORDS=120000
if ((PAUSES)); then
	HB=$'heartbeat_ms = 100\n'"heartbeat_timeout_ms = $HB_TIMEOUT_MS"
fi

cat >"$TEST_TMP/passthrough.ini" <<EOF
[job]
name = chaos_passthrough
$HB

[checkpoint]
interval_ms = 100

[stage source]
operator = gen
parallelism = 2
records = $PT_RECORDS
rate = 6000
seed = 101

[stage relay]
operator = passthrough
parallelism = 2
input = source forward

[stage sink]
operator = file
parallelism = 2
input = relay forward
EOF

cat >"$TEST_TMP/count.ini" <<EOF
[job]
name = chaos_count
$HB

[checkpoint]
interval_ms = 100

[stage source]
operator = gen
parallelism = 2
records = $CT_RECORDS
rate = 5000
keys = 2000
seed = 202

[stage counter]
operator = count
parallelism = 3
input = source hash

[stage sink]
operator = file
parallelism = 3
input = counter forward
EOF

cat >"$TEST_TMP/sessions.ini" <<EOF
[job]
name = chaos_sessions
$HB

[checkpoint]
interval_ms = 100

[stage source]
operator = gen
parallelism = 2
records = $CT_RECORDS
rate = 5000
keys = 2000
seed = 303

[stage sessions]
library = $B/examples/plugins/libsessionize.so
operator = sessionize
parallelism = 3
input = source hash
gap_ms = 1500
key_format = hex

[stage sink]
operator = file
parallelism = 3
input = sessions forward
format = text
EOF

chaos_job passthrough "$TEST_TMP/passthrough.ini" \
	"gen (2 x $PT_RECORDS at 6000/s) -> passthrough (2) -> file (2), checkpoint every 100 ms"
chaos_job count "$TEST_TMP/count.ini" \
	"gen (2 x $CT_RECORDS at 5000/s, 2000 keys) -hash-> count (3) -> file (3), checkpoint every 100 ms"
chaos_job sessions "$TEST_TMP/sessions.ini" \
	"gen (2 x $CT_RECORDS at 5000/s, 2000 keys) -hash-> sessionize plugin (3, gap 1500 ms) -> file (3), checkpoint every 100 ms"

say "seed $SEED: $TOTAL_KILLS kills in all"
for line in "${SUMMARY[@]}"; do
	echo "  $line"
done
((TOTAL_KILLS >= KILLS_MIN_TOTAL)) ||
	fail "only $TOTAL_KILLS kills in all (want >= $KILLS_MIN_TOTAL)"
say "PASS (seed $SEED)"
