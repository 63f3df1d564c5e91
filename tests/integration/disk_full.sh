#!/usr/bin/env bash
# disk_full.sh - the disk under the job's state and output fills up: the
# checkpoints that cannot be written are declined, saying "no space left on
# device", while the job keeps running in its epoch (no restarts); once
# space is back checkpoints complete again and the job finishes with exact
# output. Two jobs: one whose only writes are the file sink's (records
# through a passthrough) and one with keyed state in LMDB (a count).
#
# The run dir's state/ and output/ are bind mounts of one small tmpfs, its
# coordinator/ (the catalog) of another: the tasks' disk fills first, then
# the coordinator's too, when checkpoints go on being tried (those the
# catalog cannot record fail) and the job still runs on. Logs stay on the ordinary disk so that every line of them
# is kept. Needs root (mount), as the test suite runs.
source "$(dirname "$0")/lib.sh"

DISK="$TEST_TMP/disk"
CDISK="$TEST_TMP/coordinator-disk"
MOUNTS=()

unmount_all() {
	local m
	"$SRC/scripts/cluster" down >/dev/null 2>&1
	for m in "${MOUNTS[@]}"; do
		umount -l "$m" 2>/dev/null
	done
	MOUNTS=()
}
on_exit unmount_all

# start_on_tmpfs JOB: lay out the run dir as `cluster up` does, with state/
# and output/ on a fresh 64 MiB tmpfs, coordinator/ on a 16 MiB one, and
# start the cluster.
start_on_tmpfs() {
	unmount_all
	rm -rf -- "$RUN" "$DISK" "$CDISK"
	mkdir -p "$RUN/logs" "$RUN/pids" "$DISK" "$CDISK" "$RUN/coordinator"
	cp -- "$1" "$RUN/job.ini"
	echo 2 >"$RUN/workers"
	echo "$B" >"$RUN/build-dir"
	mount -t tmpfs -o size=64m tmpfs "$DISK" || fail "cannot mount a tmpfs on $DISK"
	MOUNTS=("$DISK")
	mount -t tmpfs -o size=16m tmpfs "$CDISK" || fail "cannot mount a tmpfs on $CDISK"
	MOUNTS=("$CDISK" "${MOUNTS[@]}")
	mount --bind "$CDISK" "$RUN/coordinator" || fail "cannot bind-mount $RUN/coordinator"
	MOUNTS=("$RUN/coordinator" "${MOUNTS[@]}")
	local d
	for d in state output; do
		mkdir -p "$DISK/$d" "$RUN/$d"
		mount --bind "$DISK/$d" "$RUN/$d" || fail "cannot bind-mount $RUN/$d"
		MOUNTS=("$RUN/$d" "${MOUNTS[@]}")
	done
	cluster start coordinator >/dev/null
	cluster start worker-1 >/dev/null
	cluster start worker-2 >/dev/null
	wait_for 30 state_is RUNNING
}

# declines_for_space: how many checkpoints the coordinator aborted because
# a task had no space left on the device.
declines_for_space() {
	grep -cE 'checkpoint [0-9]+ failed .*declined: .*no space left on device' \
		"$RUN/logs/coordinator.log" || true
}

at_least_declines() {
	(($(declines_for_space) >= $1))
}

# attempts: how many checkpoints the coordinator has tried (triggered, or
# failed to reserve an id for); attempts_beyond N: more than N of them.
attempts() {
	grep -cE 'checkpoint [0-9]+ triggered|cannot reserve a checkpoint id' \
		"$RUN/logs/coordinator.log" || true
}

attempts_beyond() {
	(($(attempts) > $1))
}

# run_full JOB WHAT: the whole scenario for one job; WHAT is a pattern the
# workers' logs must show while the disk is full.
run_full() {
	local job=$1 what=$2 epoch0 n
	start_on_tmpfs "$job"
	wait_for 30 completed_at_least 1
	epoch0="$(field epoch)"

	say "fill the disk"
	dd if=/dev/zero of="$DISK/fill" bs=1M status=none 2>/dev/null || true
	df -h "$DISK" | tail -n 1

	say "checkpoints are declined for want of space, the job runs on"
	wait_for 60 at_least_declines 8
	status_now
	[[ $(field state) == RUNNING ]] || fail "state $(field state) while the disk is full, want RUNNING"
	[[ $(field epoch) == "$epoch0" ]] || fail "epoch $(field epoch) while the disk is full, want $epoch0 (no restart)"
	[[ $(field restarts) == 0 ]] || fail "restarts = $(field restarts) while the disk is full, want 0"
	if grep -q 'I/O error' "$RUN"/logs/*.log; then
		grep 'I/O error' "$RUN"/logs/*.log | head -n 5
		fail "a full disk was reported as an I/O error"
	fi
	grep -qE "$what" "$RUN"/logs/worker-*.log ||
		fail "the workers did not log: $what"
	n="$(declines_for_space)"
	say "$n checkpoints declined for want of space; state RUNNING, no restarts"

	# Whether the catalog can still commit depends on the free pages LMDB
	# happens to hold; either way the coordinator must go on trying and
	# the job must not restart.
	say "fill the coordinator's disk too: checkpoints go on being tried, the job runs on"
	dd if=/dev/zero of="$CDISK/fill" bs=64K status=none 2>/dev/null || true
	df -h "$CDISK" | tail -n 1
	wait_for 60 attempts_beyond $(($(attempts) + 5))
	status_now
	[[ $(field state) == RUNNING || $(field state) == FINISHING ]] ||
		fail "state $(field state) while the coordinator's disk is full, want RUNNING"
	[[ $(field restarts) == 0 ]] || fail "restarts = $(field restarts) while the coordinator's disk is full, want 0"

	say "free both disks: checkpoints complete again and the job finishes"
	local latest
	latest="$(field 'latest completed checkpoint')"
	rm -f -- "$DISK/fill" "$CDISK/fill"
	wait_for 60 completed_at_least $((latest + 1))
	cluster wait 180 >/dev/null || fail "the job did not finish after space came back"
	status_now
	[[ $(field restarts) == 0 ]] || fail "restarts = $(field restarts), want 0"
	python3 "$SRC/tests/integration/expect.py" check "$RUN" "$job" ||
		fail "committed output is not exact after the disk was full"
	"$SRC/scripts/cluster" down >/dev/null 2>&1
}

JOB1="$TEST_TMP/records.ini"
cat >"$JOB1" <<'INI'
[job]
name = disk-full-records
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
records = 90000
rate = 3000
keys = 1000000
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage sink]
operator = file
parallelism = 2
input = relay forward
INI

JOB2="$TEST_TMP/count.ini"
cat >"$JOB2" <<'INI'
[job]
name = disk-full-count
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
records = 90000
rate = 3000
keys = 40000
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

say "job 1: records through a file sink"
run_full "$JOB1" 'sink: .*: no space left on device; holding the records in memory' 
say "job 2: keyed counts in LMDB"
run_full "$JOB2" 'declined checkpoint [0-9]+: snapshot write to .* failed: no space left on device' 
say "PASS"
