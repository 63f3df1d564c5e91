/*
 * explain.h - the critical path of one checkpoint (`snapmark explain ID`,
 * and the HTTP API's /api/checkpoints/ID/explain).
 *
 * A checkpoint ends when its last ack arrives and the coordinator commits
 * it. Walking back from that ack: its task's last barrier came from one
 * upstream channel, where it waited queued behind data (its start delay);
 * that upstream task forwarded it some time after its own last barrier
 * arrived; and so on up to a source, which the trigger reached some time
 * after the coordinator sent it. Those phases are contiguous, so their
 * shares add up to the checkpoint's time from trigger to commit.
 *
 * Pure: it reads a CheckpointRecord (its timeline, stored in the catalog,
 * on the coordinator's clock) and nothing else, so it is unit-tested with
 * synthetic timelines (tests/test_explain.c) and explains old checkpoints
 * as well as new ones.
 */
#ifndef COORD_EXPLAIN_H
#define COORD_EXPLAIN_H

#include "proto/snapmark.pb-c.h"

/* coord_explain builds the explanation of record r into *out (free it with
 * coord_explain_free). SM_ENOMEM only. */
int coord_explain(const Snapmark__CheckpointRecord *r,
    Snapmark__Explanation **out);

void coord_explain_free(Snapmark__Explanation *e);

#endif
