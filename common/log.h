/*
 * log.h - one line per event, to stderr, with wall time and process name.
 *
 * Lines look like `2026-11-21T21:40:01.123 coordinator INFO checkpoint 7
 * completed ...`, so the logs of all processes of a run can be merged with
 * sort. Logging is thread-safe (one write(2) per line).
 */
#ifndef SM_LOG_H
#define SM_LOG_H

enum sm_log_level { SM_LOG_DEBUG, SM_LOG_INFO, SM_LOG_WARN, SM_LOG_ERROR };

/* sm_log_init sets the process name printed on each line and the level. */
void sm_log_init(const char *process, enum sm_log_level level);

void sm_log(enum sm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sm_debug(...) sm_log(SM_LOG_DEBUG, __VA_ARGS__)
#define sm_info(...) sm_log(SM_LOG_INFO, __VA_ARGS__)
#define sm_warn(...) sm_log(SM_LOG_WARN, __VA_ARGS__)
#define sm_error(...) sm_log(SM_LOG_ERROR, __VA_ARGS__)

#endif
