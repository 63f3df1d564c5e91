/*
 * cli_text.h - the text rendering of the `snapmark` CLI (see cli_text.c).
 *
 * Every printer writes to stdout and returns SM_OK or SM_ENOMEM; what it
 * prints is the user-visible contract documented in docs/CLI.md (scripts
 * grep the "key: value" lines). The printers take records and lists in the
 * order they should appear; sorting is the caller's job.
 */
#ifndef SM_CLI_TEXT_H
#define SM_CLI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/snapmark.pb-c.h"

typedef Snapmark__JobStatus JobStatus;
typedef Snapmark__CheckpointRecord CheckpointRecord;

/* cli_text_clean replaces control characters with '?' in place, so a
 * broken or hostile peer cannot drive the terminal. Returns s. */
char *cli_text_clean(char *s);

/* cli_text_ms writes a duration in ms into buf ("12.3 ms"; below 1 ms
 * exact to the microsecond, "0.045 ms") and returns buf. */
const char *cli_text_ms(char *buf, size_t cap, uint64_t us);

/* cli_text_size writes a byte count in binary units ("512 B",
 * "48.0 KiB", "3.2 MiB") into buf and returns buf. */
const char *cli_text_size(char *buf, size_t cap, uint64_t bytes);

/* cli_text_bytes sets *bytes to the record's size (or, if the record has
 * none, the sum of its tasks' snapshots) and returns 1; 0 if unknown. */
int cli_text_bytes(const CheckpointRecord *r, uint64_t *bytes);

/* cli_text_status prints `snapmark status`: key: value lines, a blank
 * line and the workers table; then, once known, the stages table and the
 * first few channels of st->channel_metrics (the most buffered first:
 * the caller's order) with a line counting the others. */
int cli_text_status(const JobStatus *st);

/* cli_text_checkpoints prints the history table of `snapmark
 * checkpoints`, one row per record in the given order. */
int cli_text_checkpoints(CheckpointRecord *const *recs, size_t n);

/* cli_text_checkpoints_layout: with wide 0, the 80-column layout (time of
 * day, no FULL column, FAILURE cut to fit). */
int cli_text_checkpoints_layout(CheckpointRecord *const *recs, size_t n,
    int wide);

/* cli_text_explain prints `snapmark explain ID`. */
int cli_text_explain(const Snapmark__Explanation *e);

/* cli_text_record prints `snapmark show`: the record's key: value lines,
 * a blank line and its per-task table. */
int cli_text_record(const CheckpointRecord *r);

#endif
