#!/usr/bin/env bash
# sdk_wordcount.sh - a word count through a user operator under seeded
# SIGKILLs: lines (2, a generated text corpus of a few MB in TEST_TMP, each
# file read 30 times through symlinks)
# -forward-> tokenize (2, the example plugin examples/plugins/tokenize.c,
# loaded from the build's libtokenize.so) -hash-> count (2) -forward->
# file (2, format = text), on a coordinator and 2 workers with a
# checkpoint every 50 ms. While it runs, workers and once the coordinator
# are SIGKILLed and started again, each kill right after a checkpoint
# completed (plus a seeded delay), in a seeded order; the `lines` source
# rewinds to its checkpointed file offsets on every restore. The committed
# "word<TAB>count" lines must equal words.py's count of the same files
# (Python: split on whitespace, ASCII-lowered, Counter) exactly.
#
# The seed is printed first; SDK_WORDCOUNT_SEED=S replays its decisions.
source "$(dirname "$0")/lib.sh"

if [[ -n ${SDK_WORDCOUNT_SEED:-} ]]; then
	[[ $SDK_WORDCOUNT_SEED =~ ^[0-9]{1,9}$ ]] || fail "SDK_WORDCOUNT_SEED must be a number"
	SEED=$((10#$SDK_WORDCOUNT_SEED))
else
	SEED=$(((RANDOM << 15 | RANDOM) % 1000000000))
fi
echo "seed: $SEED (replay: SDK_WORDCOUNT_SEED=$SEED)"
RANDOM=$SEED

LIB="$B/examples/plugins/libtokenize.so"
[[ -f $LIB ]] || fail "not built: $LIB"
# The corpus (6 MiB in 8 files), read READS times: TEXTS holds READS
# symlinks to each file, so the job runs for a couple of seconds.
CORPUS="$TEST_TMP/corpus" TEXTS="$TEST_TMP/texts" READS=30
python3 "$SRC/tests/integration/words.py" corpus "$CORPUS" 6 "$SEED" ||
	fail "cannot write the corpus"
mkdir "$TEXTS"
for f in "$CORPUS"/*; do
	for ((k = 1; k <= READS; k++)); do
		ln -s "$f" "$TEXTS/$(basename "$f").$k"
	done
done
say "corpus: $(du -sh "$CORPUS" | cut -f1) in $(ls "$CORPUS" | wc -l) files, each read $READS times"

JOB="$TEST_TMP/wordcount.ini"
cat >"$JOB" <<INI
[job]
name = sdk-wordcount
heartbeat_timeout_ms = 30000   ; detection must come from the pipe event
[checkpoint]
interval_ms = 50
[stage source]
operator = lines
parallelism = 2
path = $TEXTS
[stage words]
library = $LIB
operator = tokenize
parallelism = 2
input = source forward
[stage counter]
operator = count
parallelism = 2
input = words hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
format = text
INI
cli validate "$JOB" >/dev/null || fail "snapmark validate refused the job"

# The victims: both workers in a seeded order with the coordinator at a
# seeded place among the first three, then one more worker.
victims=(worker-1 worker-2)
((RANDOM % 2)) && victims=(worker-2 worker-1)
at=$((RANDOM % 3))
victims=("${victims[@]:0:at}" coordinator "${victims[@]:at}" "worker-$((1 + RANDOM % 2))")
say "victims in order: ${victims[*]}"

ended() {
	status_now || return 1
	[[ $(field state) =~ ^(FINISHING|FINISHED|FAILED|CANCELED)$ ]]
}
# checkpoint_or_end N: checkpoint N completed, or the job is ending.
checkpoint_or_end() {
	completed_at_least "$1" || [[ $(field state) =~ ^(FINISHING|FINISHED|FAILED|CANCELED)$ ]]
}

cluster up "$JOB" 2 >/dev/null
kills=0
next=1
for v in "${victims[@]}"; do
	wait_for 120 checkpoint_or_end "$next"
	delay=$((RANDOM % 40))
	sleep "0.0$((delay / 10))$((delay % 10))"
	if ended; then
		break
	fi
	say "SIGKILL $v (latest completed checkpoint $(field 'latest completed checkpoint'), +${delay} ms)"
	# The job may end (and its processes exit) between the look and the
	# kill: then the kill finds nothing, and that is the end of the kills.
	if ! cluster kill "$v" >/dev/null 2>&1; then
		ended || fail "cannot kill $v while the job runs"
		say "   the job ended first"
		break
	fi
	cluster start "$v" >/dev/null
	kills=$((kills + 1))
	running_or_ended() { state_is RUNNING || ended; }
	wait_for 120 running_or_ended
	next=$(($(field 'latest completed checkpoint') + 1))
done
((kills >= 3)) || fail "the job ended after $kills kills: make the corpus larger (READS)"
coord_killed=0
for v in "${victims[@]:0:kills}"; do
	[[ $v == coordinator ]] && coord_killed=1
done
((coord_killed)) || fail "the job ended before the coordinator was killed: make the corpus larger (READS)"

cluster wait 300 >/dev/null || fail "job did not finish"
status_now
say "$kills kills; restarts counted: $(field restarts)"
((kills <= $(field restarts))) || fail "$kills kills but $(field restarts) restarts"
python3 "$SRC/tests/integration/words.py" check "$RUN" "$TEXTS" ||
	fail "committed word counts are not exact after the kills (seed $SEED)"
say "PASS (seed $SEED)"
