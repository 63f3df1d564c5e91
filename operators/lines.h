/*
 * lines.h - the `lines` source (docs/JOBFILE.md, "lines"): one record per
 * line of the regular files of a directory (or of one file), positions
 * kept in checkpoints so a restore replays exactly from them.
 */
#ifndef SM_OPERATORS_LINES_H
#define SM_OPERATORS_LINES_H

#include "snapmark/snapmark.h"

const struct snapmark_operator *sm_lines_operator(void);

#endif
