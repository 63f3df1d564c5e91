/*
 * snapshot.h - a task's snapshots in its own LMDB environment: the store
 * format. The worker writes and restores them; the coordinator reads them
 * too (it verifies savepoints), so the format lives in common/.
 *
 * Layout (keys compare as bytes, integers big-endian, so each snapshot's
 * state is one contiguous key range):
 *
 *   'm' id            -> snapmark.SnapshotMeta   (table of contents, with
 *                                                 the operator-state items)
 *   's' id n          -> snapmark.StateEntry     (entry n of the snapshot:
 *                                                 state id, key bytes, key
 *                                                 group, value bytes, or in
 *                                                 a delta a deletion)
 *
 * Entries are numbered in (state, key) order (state.h), so keys of any
 * length (LMDB keys are at most 511 bytes) read back sorted; a reader
 * checks the numbering and the order.
 *
 * A snapshot is full, or a delta on a chain: meta.chain lists the full
 * snapshot it builds on and the deltas in between, with the checksum of
 * each link's meta. Reading a delta reads the chain base first and applies
 * every link; retention keeps every link a retained snapshot needs.
 *
 * Integrity: SnapshotMeta.state_checksum is the CRC-32C of every packed
 * StateEntry in key order, and the handle sent to the coordinator carries the
 * CRC-32C of the packed SnapshotMeta. A restore recomputes both, checks the
 * entry count, task and checkpoint id, and refuses (SM_ECORRUPT with a
 * reason) on any difference: a corrupt snapshot is never used.
 */
#ifndef SM_SNAPSHOT_H
#define SM_SNAPSHOT_H

#include <stdint.h>

#include "common/state.h"
#include "common/store.h"

/* What a written snapshot looks like from outside (goes into the ack). */
struct sm_snapshot_info {
	uint64_t bytes;
	uint64_t entries;
	uint32_t checksum;
};

/* sm_snapshot_write writes data as checkpoint `id` of `task` (a delta on
 * data->chain when n_chain > 0) and makes it durable (sm_store_sync)
 * before returning. */
int sm_snapshot_write(struct sm_store *st, uint32_t task,
    const char *task_name, uint64_t epoch, uint64_t id,
    const struct sm_snapshot_data *data, struct sm_snapshot_info *info);

/*
 * sm_snapshot_read loads and verifies checkpoint `id` of `task` against
 * the checksum from its handle, applying its chain: *data receives the
 * full state (entries sorted, no deletions; free it with
 * sm_snapshot_data_free). On failure writes a one-line reason into why.
 */
int sm_snapshot_read(struct sm_store *st, uint32_t task, uint64_t id,
    uint32_t checksum, struct sm_snapshot_data *data, char *why,
    size_t whylen);

/*
 * Inline snapshots: a snapshot with no keyed state (a source's offset, a
 * sink's pending files) is only its SnapshotMeta, a few dozen bytes. It is
 * not written to LMDB at all: sm_snapshot_inline packs the meta (the same
 * bytes the store would hold) and the task sends them inside its ack, so
 * they become durable with the coordinator's commit of the checkpoint, the
 * only moment they matter, and the task saves an fsync on the checkpoint's
 * critical path. sm_snapshot_inline refuses data with entries or a chain.
 * The handle's checksum (CRC-32C of the bytes) protects them the same way.
 */
#define SM_SNAPSHOT_INLINE "inline" /* the handle location of one */

int sm_snapshot_inline(uint32_t task, const char *task_name, uint64_t epoch,
    uint64_t id, const struct sm_snapshot_data *data, unsigned char **meta,
    size_t *len, struct sm_snapshot_info *info);

/* sm_snapshot_read_inline verifies and decodes an inline snapshot, as
 * sm_snapshot_read does a stored one. */
int sm_snapshot_read_inline(const void *meta, size_t len, uint32_t task,
    uint64_t id, uint32_t checksum, struct sm_snapshot_data *data, char *why,
    size_t whylen);

/* sm_snapshot_data_free frees what data owns (not data->delta: see
 * state.h) and zeroes it. */
void sm_snapshot_data_free(struct sm_snapshot_data *data);

/* sm_snapshot_prune deletes every snapshot below `below` (ids >= below
 * are checkpoints in flight) that is neither listed in keep nor part of the
 * chain a listed one builds on; or, with below == 0, every snapshot with
 * an id greater than keep[0] (after a restore from keep[0]; n_keep 0 or 1:
 * with 0, all of them). */
int sm_snapshot_prune(struct sm_store *st, const uint64_t *keep,
    size_t n_keep, uint64_t below);

/* sm_snapshot_list writes up to max ids of the snapshots present. */
int sm_snapshot_list(struct sm_store *st, uint64_t *ids, size_t max,
    size_t *n);

#endif
