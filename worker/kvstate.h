/*
 * kvstate.h - keyed state that knows what changed since its last
 * checkpoint, so the synchronous part of a snapshot costs O(keys changed),
 * never O(total state).
 *
 * Every put and delete records the key in a change list the first time it
 * changes after a capture (a per-key flag makes that O(1)). Capturing the
 * delta copies, for each changed key, its current value or a deletion
 * marker, and clears the list. Copying all live keys (for savepoints) is a
 * separate call that leaves the change list alone.
 *
 * `copied` counts the entries every capture copied: the tests compare it
 * with the state size instead of timing anything.
 */
#ifndef SM_KVSTATE_H
#define SM_KVSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "keymap.h"
#include "operator.h"

struct sm_kvstate {
	struct sm_keymap live;     /* key -> value */
	struct sm_keymap changed;  /* keys changed since the last capture */
	uint64_t *change_list;
	size_t n_changes, cap_changes;
	uint64_t copied;           /* entries copied by captures, ever */
};

int sm_kvstate_init(struct sm_kvstate *s);
void sm_kvstate_fini(struct sm_kvstate *s);

/* sm_kvstate_add adds delta to key's value (a new key starts at 0). */
int sm_kvstate_add(struct sm_kvstate *s, uint64_t key, int64_t delta);

/* sm_kvstate_put sets key's value. */
int sm_kvstate_put(struct sm_kvstate *s, uint64_t key, int64_t value);

/* sm_kvstate_del removes key (no-op if absent). */
int sm_kvstate_del(struct sm_kvstate *s, uint64_t key);

int sm_kvstate_get(const struct sm_kvstate *s, uint64_t key, int64_t *val);

size_t sm_kvstate_len(const struct sm_kvstate *s);

/* sm_kvstate_capture_delta returns the changes since the previous capture
 * (deletions flagged, in change order: sorting is left to whoever writes
 * them, off the task's thread) in a malloc'ed array owned by the caller,
 * and starts a new change list. */
int sm_kvstate_capture_delta(struct sm_kvstate *s,
    struct sm_state_entry **out, size_t *n);

/* sm_kvstate_capture_all returns every live entry, sorted, malloc'ed; the
 * change list is untouched. */
int sm_kvstate_capture_all(struct sm_kvstate *s, struct sm_state_entry **out,
    size_t *n);

/* sm_kvstate_forget_changes starts a new, empty change list without
 * copying anything (after a restore: restored keys are not changes). */
int sm_kvstate_forget_changes(struct sm_kvstate *s);

/* sm_kvstate_sort sorts entries by key. */
void sm_kvstate_sort(struct sm_state_entry *e, size_t n);

#endif
