/*
 * channels.h - the coordinator's view of the job's data channels: per
 * channel, the latest frame counts its two sides reported in their
 * workers' heartbeats, and the frames buffered between them
 * (docs/OBSERVABILITY.md, "Frames buffered").
 *
 * The sender reports the frames its channel took, the receiver the frames
 * it took out and handled; the difference is what sits in the channel (NNG
 * 1.5.2 does not expose the fill level of a pipe's queues). Each side is
 * kept with the epoch it was counted in: a difference is only taken
 * between two counts of the same epoch, and is clamped at 0 (the sides
 * come in separate heartbeats, up to one heartbeat period apart).
 */
#ifndef COORD_CHANNELS_H
#define COORD_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "common/jobfile.h"
#include "proto/snapmark.pb-c.h"

struct coord_channels;

/* coord_channels_alloc: the counts of n channels, none reported yet. */
int coord_channels_alloc(int n, struct coord_channels **out);
void coord_channels_free(struct coord_channels *cs);

/* coord_channel_between returns the index of the channel from task `from`
 * to task `to` of job, or -1 if no channel connects them (or either is
 * not a task of the job). A stage names an upstream stage once, so there
 * is at most one. */
int coord_channel_between(const struct sm_job *job, uint32_t from,
    uint32_t to);

/* coord_channels_note keeps one side's count of channel `index` (sent:
 * the sender's frames sent, else the receiver's frames processed), counted
 * in `epoch`. An index out of range is ignored. */
void coord_channels_note(struct coord_channels *cs, int index,
    uint64_t epoch, int sent, uint64_t frames);

/* coord_channels_buffered: sent minus processed of channel `index`,
 * clamped at 0, into *buffered (with the two counts in *sent and
 * *processed, each may be NULL); returns 1 if both sides were counted in
 * `epoch`, else 0 (and nothing is written). */
int coord_channels_buffered(const struct coord_channels *cs, int index,
    uint64_t epoch, uint64_t *sent, uint64_t *processed,
    uint64_t *buffered);

/* coord_channels_status sets st->channel_metrics: one entry per channel
 * of job whose two sides were counted in `epoch`, by channel index, named
 * with task_names (borrowed: they must outlive st's use). Allocates; free
 * with coord_channels_status_free. SM_ENOMEM leaves the list empty. */
int coord_channels_status(const struct coord_channels *cs,
    const struct sm_job *job, uint64_t epoch, char *const *task_names,
    Snapmark__JobStatus *st);
void coord_channels_status_free(Snapmark__JobStatus *st);

#endif
