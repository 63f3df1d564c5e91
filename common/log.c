/*
 * log.c - line-oriented logging to stderr. Every line starts with an
 * ISO-8601 UTC timestamp with milliseconds, 2026-11-21T21:34:45.211Z.
 */
#define _POSIX_C_SOURCE 200809L
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_process[48] = "snapmark";
static enum sm_log_level log_level = SM_LOG_INFO;

void
sm_log_init(const char *process, enum sm_log_level level)
{
	snprintf(log_process, sizeof(log_process), "%s", process);
	log_level = level;
	const char *env = getenv("SNAPMARK_LOG");
	if (env != NULL && strcmp(env, "debug") == 0)
		log_level = SM_LOG_DEBUG;
}

void
sm_log(enum sm_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	if (level < log_level)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, log_process, names[level]);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	if (n > (int) sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t) n);
	(void) w;
}
