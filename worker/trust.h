/*
 * trust.h - what a worker accepts from snapshot metadata.
 *
 * Snapshot handles and the snapshots themselves come from files other
 * processes can write: the coordinator's catalog, a savepoint directory,
 * a task's LMDB store. Their checksums catch corruption, not a forger who
 * recomputes them. So before a restore opens or renames a file on their
 * word, the worker checks:
 *
 *   location  of a stored snapshot: an absolute path that resolves
 *             (realpath, so no ".." or symlink leads elsewhere) to the
 *             task's own state directory RUN/state/TASK or below it; for a
 *             restore from a savepoint, to the savepoint directory the
 *             coordinator named in the deploy (TaskRestore.savepoint_dir)
 *             or below it. Nothing else is opened.
 *   pending   file names of a sink: exactly the name the sink gives its own
 *             pre-committed files (SM_SINK_PENDING_FMT: part-SUBTASK-ID,
 *             a plain name without '/'), of this subtask, of a checkpoint
 *             not newer than the one restored.
 *   key group of every keyed entry: below the stage's max_parallelism
 *             (a rescale keeps entries by it; key and value lengths and
 *             operator-state items are bounded by the snapshot reader,
 *             common/snapshot.c, SM_STATE_MAX_BYTES / _ITEMS).
 *
 * A violation is SM_ECORRUPT with the reason in why: the task reports
 * RESTORE_FAILED, the coordinator marks that checkpoint unusable and falls
 * back to an older one.
 */
#ifndef SM_TRUST_H
#define SM_TRUST_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

/* The name of sink subtask SUB's file pre-committed at checkpoint ID. */
#define SM_SINK_PENDING_FMT "part-%d-%012" PRIu64

/* sm_trust_pending_name checks one pending file name (of checkpoint
 * name_id) of sink subtask `subtask` restored from checkpoint
 * restored_id. */
int sm_trust_pending_name(const char *name, uint64_t name_id, int subtask,
    uint64_t restored_id, char *why, size_t whylen);

/* sm_trust_location checks a snapshot handle's location against the
 * task's own state directory and, when not NULL, the savepoint directory
 * of the restore. */
int sm_trust_location(const char *location, const char *own_dir,
    const char *savepoint_dir, char *why, size_t whylen);

struct sm_state_entry;

/* sm_trust_key_groups checks that each of n entries has a key group below
 * max_parallelism. */
int sm_trust_key_groups(const struct sm_state_entry *e, size_t n,
    int max_parallelism, char *why, size_t whylen);

#endif
