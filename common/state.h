/*
 * state.h - what a task snapshot holds: keyed entries, a source's offset,
 * a sink's pending files, and the chain an incremental one builds on.
 *
 * These are the store format's types (common/snapshot.h writes and reads
 * them), shared by the worker, which takes snapshots, and the coordinator,
 * which verifies savepoints; neither owns them, so they live here.
 */
#ifndef SM_STATE_H
#define SM_STATE_H

#include <stddef.h>
#include <stdint.h>

struct sm_state_entry {
	uint64_t key;
	int64_t count;
	int deleted;                      /* in a delta: the key was removed */
};

/* The worker's keyed changes in hash-map form (worker/kvstate.h); opaque
 * here. */
struct sm_kvdelta;

/* Everything one task snapshot holds besides its identity. */
struct sm_snapshot_data {
	int has_source_offset;
	uint64_t source_next_seq;
	size_t n_entries;
	struct sm_state_entry *entries;   /* sorted by key */
	/* Keyed changes still in hash-map form, handed over in O(1): the
	 * snapshot writer flattens them into entries. Owned by whoever set
	 * it, who frees it (sm_kvdelta_free): sm_snapshot_data_free does
	 * not. Never set on data read from a store. */
	struct sm_kvdelta *delta;
	size_t n_pending;
	char **pending;                   /* sink: pre-committed file names */
	uint64_t *pending_id;             /* sink: checkpoint of each file */
	int drained;
	/* Incremental snapshots: entries are the changes since the snapshot
	 * chain[n_chain - 1], which builds on the earlier links down to the
	 * full snapshot chain[0]. n_chain == 0: entries are the full state. */
	int incremental;
	int unsorted;                     /* entries not in key order yet */
	size_t n_chain;
	uint64_t *chain;
	uint32_t *chain_checksums;
	uint64_t full_entries;            /* live keys of the whole state */
	uint64_t bytes_read;              /* restores: value bytes read */
};

#endif
