/*
 * state.h - what a task snapshot holds: keyed entries, operator-state
 * items, a source's offset, a sink's pending files, and the chain an
 * incremental one builds on.
 *
 * These are the store format's types (common/snapshot.h writes and reads
 * them), shared by the worker, which takes snapshots, and the coordinator,
 * which verifies savepoints; neither owns them, so they live here.
 *
 * Keyed state is byte keys -> byte values in named states: an entry is
 * (state id, key bytes, value bytes, key group of the key, deleted). A
 * state's id is the CRC-32C of its name (sm_state_id); ids from
 * SM_STATE_RESERVED up are the runtime's own (timers, built-ins). Entries
 * sort by state id, then key bytes (memcmp, a prefix first).
 */
#ifndef SM_STATE_H
#define SM_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Longest key or value, and item of operator state (snapmark.h's
 * SNAPMARK_MAX_BYTES). */
#define SM_STATE_MAX_BYTES (256u << 10)
/* Most operator-state items one snapshot may hold. */
#define SM_STATE_MAX_ITEMS 65536u

/* State ids reserved for the runtime. */
#define SM_STATE_RESERVED 0xFFFFFF00u
#define SM_STATE_COUNT 0xFFFFFF01u            /* the built-in count */
#define SM_STATE_TIMERS_EVENT 0xFFFFFFF0u     /* worker/timers.h */
#define SM_STATE_TIMERS_PROCESSING 0xFFFFFFF1u

/* One keyed entry. key and value are borrowed: they point into whoever
 * holds the bytes (a keymap, a delta, or a snapshot's arena, see
 * sm_snapshot_data.bytes). */
struct sm_state_entry {
	uint32_t state;
	uint32_t key_group;
	uint32_t key_len;
	uint32_t value_len;
	const unsigned char *key;
	const unsigned char *value;
	int deleted;                      /* in a delta: the key was removed */
};

/* sm_state_entry_cmp orders entries by (state, key bytes). */
int sm_state_entry_cmp(const struct sm_state_entry *a,
    const struct sm_state_entry *b);

/* sm_state_id is the id of the state named `name` (CRC-32C of the name);
 * SM_EINVAL (and *id untouched) when it falls in the reserved range. */
int sm_state_id(const char *name, uint32_t *id);

/* A chain of byte blocks that entries point into; freed whole. */
struct sm_state_arena {
	struct sm_state_arena *next;
	size_t used, cap;
	unsigned char bytes[];
};

/* sm_state_arena_alloc returns n bytes (NULL: out of memory), valid until
 * the arena is freed. */
unsigned char *sm_state_arena_alloc(struct sm_state_arena **a, size_t n);
/* sm_state_arena_join moves every block of *src into *dst. */
void sm_state_arena_join(struct sm_state_arena **dst,
    struct sm_state_arena **src);
void sm_state_arena_free(struct sm_state_arena *a);

/* One item of operator (non-keyed) state; owned by its snapshot data. */
struct sm_state_item {
	unsigned char *data;
	uint32_t len;
};

/* The worker's keyed changes in hash-map form (worker/kvstate.h); opaque
 * here. */
struct sm_kvdelta;

/* Everything one task snapshot holds besides its identity. */
struct sm_snapshot_data {
	int has_source_offset;
	uint64_t source_next_seq;
	size_t n_entries;
	struct sm_state_entry *entries;   /* sorted by (state, key) */
	/* Owner of the entries' bytes when read from a store (freed by
	 * sm_snapshot_data_free); otherwise NULL and the bytes belong to
	 * the map or delta the entries came from. */
	struct sm_state_arena *bytes;
	/* Keyed changes still in hash-map form, handed over in O(1): the
	 * snapshot writer flattens them into entries. Owned by whoever set
	 * it, who frees it (sm_kvdelta_free): sm_snapshot_data_free does
	 * not. Never set on data read from a store. */
	struct sm_kvdelta *delta;
	/* Operator state: items owned by this data (malloc'ed). */
	size_t n_op_state;
	struct sm_state_item *op_state;
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

/* sm_snapshot_data_copy_pending sets d's pending files to copies of the n
 * names and their checkpoint ids (d has none before). On failure what was
 * copied stays in d, freed with it. */
int sm_snapshot_data_copy_pending(struct sm_snapshot_data *d,
    char *const *names, const uint64_t *ids, size_t n);

/* sm_snapshot_data_add_item appends a copy of len bytes at item to
 * d->op_state. */
int sm_snapshot_data_add_item(struct sm_snapshot_data *d, const void *item,
    uint32_t len);

#endif
