/*
 * align.h - barrier alignment of one task's inputs.
 *
 * A task with several input channels may only snapshot checkpoint n once
 * every input has delivered barrier n: then its state reflects exactly the
 * records that precede barrier n on every channel, which is the consistent
 * cut of Chandy-Lamport for FIFO channels.
 *
 * Exactly-once mode blocks an input once it delivered barrier n (its later
 * records belong after the cut and must wait) and keeps reading the others.
 * At-least-once mode never blocks: records after the barrier are processed
 * early and will be replayed after a restore, so they may count twice.
 *
 * Rules this state machine implements:
 *  - the first barrier of a new id starts an alignment;
 *  - a barrier with a higher id than the one being aligned subsumes it: the
 *    older alignment is abandoned (reported, so the task can decline it)
 *    and the newer one starts with only this input arrived;
 *  - a barrier with a lower id than the current or last finished one is
 *    stale (its checkpoint was subsumed) and ignored;
 *  - an input that reached its end of data counts as having delivered
 *    every later barrier;
 *  - sm_align_abort (the coordinator aborted the checkpoint) unblocks.
 *
 * Pure state, no I/O, so it is unit-tested on its own.
 */
#ifndef SM_ALIGN_H
#define SM_ALIGN_H

#include <stdint.h>

enum sm_align_mode { SM_ALIGN_EXACTLY_ONCE, SM_ALIGN_AT_LEAST_ONCE };

struct sm_align {
	int n_inputs;
	enum sm_align_mode mode;
	uint64_t current;      /* checkpoint being aligned, 0 = none */
	uint64_t last_done;    /* highest id snapshotted, aborted or subsumed */
	int n_arrived;
	uint64_t started_us;
	unsigned char *arrived; /* per input: barrier `current` delivered */
	unsigned char *ended;   /* per input: end of data seen */
};

/* What the task must do after feeding the state machine an event. */
struct sm_align_result {
	uint64_t snapshot_id;  /* non-zero: snapshot now and forward barrier */
	uint64_t align_us;     /* time from first to last barrier */
	uint64_t subsumed_id;  /* non-zero: this alignment was abandoned */
};

/* sm_align_init prepares alignment of n_inputs (>= 1) inputs. */
int sm_align_init(struct sm_align *a, int n_inputs, enum sm_align_mode mode);
void sm_align_fini(struct sm_align *a);

/* sm_align_barrier feeds barrier `id` arriving on `input` at now_us. */
void sm_align_barrier(struct sm_align *a, int input, uint64_t id,
    uint64_t now_us, struct sm_align_result *res);

/* sm_align_end feeds the end of data of `input`. */
void sm_align_end(struct sm_align *a, int input, uint64_t now_us,
    struct sm_align_result *res);

/* sm_align_abort abandons alignment of `id` if it is the current one. */
void sm_align_abort(struct sm_align *a, uint64_t id);

/* sm_align_blocked: must the task stop reading `input` for now? */
int sm_align_blocked(const struct sm_align *a, int input);

/* sm_align_all_ended: every input reached its end of data. */
int sm_align_all_ended(const struct sm_align *a);

#endif
