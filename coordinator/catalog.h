/*
 * catalog.h - the coordinator's durable memory: checkpoint records, the id
 * and epoch counters, and which job this run belongs to, in one LMDB
 * environment opened with full durability (every commit is fsync'ed).
 *
 * Keys and values (all values protobuf, see proto/snapmark.proto):
 *   "c" id(8 bytes BE)  CheckpointRecord (COMPLETED, FAILED or DISCARDED)
 *   "C" id              Counter(id): index of the restorable checkpoints
 *                       (completed, not savepoints)
 *   "next_id"           Counter: the lowest id never handed out
 *   "epoch"             Counter: the lowest epoch never started
 *   "latest"            Counter: the latest COMPLETED checkpoint
 *   "restarts"          Counter: epochs that ended in a failure
 *   "job"               JobFingerprint
 *   "final_state"       text: FINISHED, CANCELED or FAILED, once ended
 *   "final_status"      JobStatus: `snapmark status` when the job ended
 *
 * Ids and epochs are persisted before they are used, so they never repeat,
 * also across coordinator restarts. A completed record and the "latest"
 * pointer are written in the same transaction.
 */
#ifndef COORD_CATALOG_H
#define COORD_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/snapmark.pb-c.h"

struct coord_catalog;

int coord_catalog_open(const char *dir, struct coord_catalog **out);
/* coord_catalog_open_readonly opens an existing catalog with MDB_RDONLY
 * (the CLI reading the catalog of a coordinator that is not running);
 * SM_ENOTFOUND if there is none. Only the read functions may be used. */
int coord_catalog_open_readonly(const char *dir,
    struct coord_catalog **out);
void coord_catalog_close(struct coord_catalog *cat);

/* coord_catalog_check_job records the job fingerprint on first use and
 * afterwards refuses (SM_EINVAL, reason in why) a different job. */
int coord_catalog_check_job(struct coord_catalog *cat, const char *name,
    uint32_t text_crc, uint32_t tasks, char *why, size_t whylen);

/* coord_catalog_next_id durably reserves and returns the next checkpoint
 * id. */
int coord_catalog_next_id(struct coord_catalog *cat, uint64_t *id);

/* coord_catalog_next_epoch durably reserves and returns a new epoch. */
int coord_catalog_next_epoch(struct coord_catalog *cat, uint64_t *epoch);

/* coord_catalog_counter reads counter `name` ("epoch", "restarts", ...);
 * 0 if it was never written. */
int coord_catalog_counter(struct coord_catalog *cat, const char *name,
    uint64_t *value);

/* coord_catalog_count_restart durably adds one to "restarts" and returns
 * the new total. */
int coord_catalog_count_restart(struct coord_catalog *cat, uint64_t *total);

/* coord_catalog_put stores a final record; a COMPLETED one also becomes
 * "latest" in the same durable transaction. */
/* coord_catalog_put_counter durably sets the counter `name` to value. */
int coord_catalog_put_counter(struct coord_catalog *cat, const char *name,
    uint64_t value);

/* coord_catalog_put_text durably stores a line of text under `name` (for
 * state that must outlive the coordinator, such as why the job failed);
 * coord_catalog_get_text reads it into buf ("" if there is none). Names
 * must not begin with 'c' or 'C' (the records' keys). */
int coord_catalog_put_text(struct coord_catalog *cat, const char *name,
    const char *text);
int coord_catalog_get_text(struct coord_catalog *cat, const char *name,
    char *buf, size_t len);

int coord_catalog_put(struct coord_catalog *cat,
    const Snapmark__CheckpointRecord *rec);

/* coord_catalog_set_retention makes every later put of a COMPLETED
 * checkpoint also discard (coord_catalog_discard_beyond) what lies beyond
 * the newest `retain`, in the same transaction; 0 (the default): never. */
void coord_catalog_set_retention(struct coord_catalog *cat, size_t retain);

/* coord_record_completed: the checkpoint completed. A DISCARDED one did
 * too; retention deleted its snapshots later. */
static inline int
coord_record_completed(const Snapmark__CheckpointRecord *r)
{
	return r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED ||
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__DISCARDED;
}

/* coord_catalog_get loads record `id` (SM_ENOTFOUND if none). The caller
 * frees *out with snapmark__checkpoint_record__free_unpacked. */
int coord_catalog_get(struct coord_catalog *cat, uint64_t id,
    Snapmark__CheckpointRecord **out);

/* coord_catalog_list loads up to max records, newest first, into a
 * malloc'ed array of unpacked records (free each, then the array). With
 * completed_only, only COMPLETED checkpoints (no savepoints): the ones
 * recovery and retention consider. */
int coord_catalog_list(struct coord_catalog *cat, size_t max,
    int completed_only, Snapmark__CheckpointRecord ***out, size_t *n);

/* coord_catalog_completed_ids writes the ids of up to max newest COMPLETED
 * checkpoints (no savepoints), newest first, from the index alone: no
 * record is read, however many tasks it lists. */
int coord_catalog_completed_ids(struct coord_catalog *cat, size_t max,
    uint64_t *ids, size_t *n);

/* coord_catalog_latest returns the latest completed id (0 if none). */
int coord_catalog_latest(struct coord_catalog *cat, uint64_t *id);

/* coord_catalog_discard_beyond applies retention to the records: every
 * COMPLETED checkpoint (not a savepoint) older than the newest `keep`
 * becomes DISCARDED (its snapshots may be deleted by the tasks) and leaves
 * the index of restorable checkpoints, in one durable transaction. Up to
 * max of the ids discarded are written to ids, their count to *n. */
/* coord_catalog_put_bytes durably stores len bytes under `name` (same
 * naming rule as put_text); coord_catalog_get_bytes reads them into a
 * malloc'ed *buf (SM_ENOTFOUND if there are none). The coordinator keeps
 * the job's last status there ("final_status", a packed JobStatus) when
 * the job ends, for `snapmark` to read once it is gone. */
int coord_catalog_put_bytes(struct coord_catalog *cat, const char *name,
    const void *buf, size_t len);
int coord_catalog_get_bytes(struct coord_catalog *cat, const char *name,
    void **buf, size_t *len);

int coord_catalog_discard_beyond(struct coord_catalog *cat, size_t keep,
    uint64_t *ids, size_t max, size_t *n);

#endif
