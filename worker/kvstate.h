/*
 * kvstate.h - keyed state that knows what changed since its last
 * checkpoint, so the synchronous part of a snapshot costs O(1), whatever
 * the size of the state and however much of it changed.
 *
 * Keyed state is byte keys -> byte values in named states (common/state.h):
 * every entry is filed under (state id, key bytes) and remembers its key's
 * key group. A counter is a state whose value is an 8-byte little-endian
 * int64 (sm_kvstate_add).
 *
 * Next to the live map, every put and delete also writes the key's new
 * value (or its removal) into a delta: a second, small hash map that holds
 * exactly the changes since the last capture. Capturing hands that delta
 * over whole and starts an empty one: no entry is copied on the task's
 * thread. Whoever receives it (the snapshot writer, on its own thread)
 * flattens it into entries that point into it, and frees it once written.
 * The price is a second hash update per write, into a map as large as one
 * interval's changes.
 */
#ifndef SM_KVSTATE_H
#define SM_KVSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "worker/keymap.h"
#include "common/state.h"

/* The changes since one capture, still in hash-map form. */
struct sm_kvdelta {
	struct sm_keymap values;  /* changed key -> its latest value */
	struct sm_keymap removed; /* keys deleted (and not set again) */
};

struct sm_kvstate {
	struct sm_keymap live;   /* (state, key) -> value */
	struct sm_kvdelta delta; /* changes since the last capture */
};

int sm_kvstate_init(struct sm_kvstate *s);
void sm_kvstate_fini(struct sm_kvstate *s);

/* sm_kvstate_put sets (state, key)'s value (copied); kg is the key's key
 * group. */
int sm_kvstate_put(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, const void *value, uint32_t value_len);

/* sm_kvstate_get: *value (valid until the next write to s) and *len of
 * (state, key); SM_ENOTFOUND if absent. */
int sm_kvstate_get(const struct sm_kvstate *s, uint32_t state,
    const void *key, uint32_t key_len, const void **value, uint32_t *len);

/* sm_kvstate_del removes (state, key) (no-op if absent). */
int sm_kvstate_del(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len);

/* sm_kvstate_add adds delta to the counter (state, key) (an absent one
 * starts at 0); *now (may be NULL) receives the new count. SM_EINVAL if
 * the value there is not 8 bytes. */
int sm_kvstate_add(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, int64_t delta, int64_t *now);

/* Batches: a caller that knows the next keys ahead computes each one's
 * hash once (sm_kvstate_hash), starts loading its slots a few records
 * ahead (sm_kvstate_prefetch), then its entry a little later
 * (sm_kvstate_prefetch_entry), and writes with sm_kvstate_add_h: the
 * cache misses of several records overlap instead of following each
 * other. */
uint64_t sm_kvstate_hash(uint32_t state, const void *key, uint32_t key_len);
void sm_kvstate_prefetch(const struct sm_kvstate *s, uint64_t hash);
void sm_kvstate_prefetch_entry(const struct sm_kvstate *s, uint64_t hash);
int sm_kvstate_add_h(struct sm_kvstate *s, uint64_t hash, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg, int64_t delta,
    int64_t *now);

/* The 8-byte little-endian int64 of a counter value. */
void sm_counter_put(unsigned char *p, int64_t v);
int64_t sm_counter_get(const unsigned char *p);

size_t sm_kvstate_len(const struct sm_kvstate *s);

/* sm_kvstate_changes: keys changed since the last capture. */
size_t sm_kvstate_changes(const struct sm_kvstate *s);

/* sm_kvstate_take_delta hands the changes since the previous capture over
 * in O(1) (*out is malloc'ed, freed with sm_kvdelta_free) and starts an
 * empty delta. */
int sm_kvstate_take_delta(struct sm_kvstate *s, struct sm_kvdelta **out);

/* sm_kvstate_snapshot is an operator's keyed part of a checkpoint: out
 * becomes an incremental snapshot holding the delta (sm_kvstate_take_delta,
 * O(1)) and the live size; the snapshot writer flattens it.
 * sm_kvstate_snapshot_release frees the keyed part of such a snapshot that
 * the writer did not take (its entries and delta). */
int sm_kvstate_snapshot(struct sm_kvstate *s, struct sm_snapshot_data *out);
void sm_kvstate_snapshot_release(struct sm_snapshot_data *d);

/* sm_kvstate_load adds n entries (deletions skipped) to the live state as
 * they are, not as changes (a restore: they are in the snapshot chain
 * already). The bytes are copied. */
int sm_kvstate_load(struct sm_kvstate *s, const struct sm_state_entry *e,
    size_t n);

/* sm_state_entries_of returns every live entry of m, sorted by (state,
 * key), in a malloc'ed array owned by the caller; the entries point into
 * m's storage and are valid until m changes. */
int sm_state_entries_of(const struct sm_keymap *m,
    struct sm_state_entry **out, size_t *n);

/* sm_kvstate_forget_changes starts a new, empty delta without copying
 * anything (after a restore: restored keys are not changes). */
int sm_kvstate_forget_changes(struct sm_kvstate *s);

/* sm_kvdelta_new: an empty delta (the snapshot writer collects the
 * changes of savepoints in one). */
int sm_kvdelta_new(struct sm_kvdelta **out);

/* sm_kvdelta_record records n entries (changes, deletions flagged) into
 * d, copying their bytes; a later change of a key replaces an earlier. */
int sm_kvdelta_record(struct sm_kvdelta *d, const struct sm_state_entry *e,
    size_t n);

/* sm_kvdelta_len: entries flattening d yields. */
size_t sm_kvdelta_len(const struct sm_kvdelta *d);

/* sm_kvdelta_flatten turns d into entries (unsorted, deletions flagged) in
 * a malloc'ed array owned by the caller; they point into d, which must
 * outlive them and is left as it was. */
int sm_kvdelta_flatten(const struct sm_kvdelta *d, struct sm_state_entry **out,
    size_t *n);

/* sm_kvdelta_free frees a delta from sm_kvstate_take_delta; NULL is fine. */
void sm_kvdelta_free(struct sm_kvdelta *d);

/* sm_state_keep_owned keeps, in place and in order, the n entries whose
 * stored key group subtask `subtask` of `parallelism` owns (a rescale:
 * no key is hashed again); returns how many. */
size_t sm_state_keep_owned(struct sm_state_entry *e, size_t n,
    int max_parallelism, int parallelism, int subtask);

/* sm_kvstate_sort sorts entries by (state, key). */
void sm_kvstate_sort(struct sm_state_entry *e, size_t n);

#endif
