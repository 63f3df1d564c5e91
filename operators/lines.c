/*
 * lines.c - the `lines` source: one record per line of the regular files
 * of a directory (or of one file).
 *
 * Records: key empty, value the line without its newline, timestamp the
 * processing time when it was read (ingestion time). After each produce
 * the source emits the watermark processing time - 1, so every later
 * record is newer than it and event-time logic downstream progresses.
 *
 * Files are split among subtasks by a stable hash of the file's name
 * (FNV-1a, 32 bits, of the name's bytes) modulo the parallelism; a subtask
 * reads its files in order of name, each from its position. A position is
 * (file name, byte offset of the next unread line); the snapshot keeps
 * one operator-state item per known file: the offset as 8 bytes
 * big-endian, then the name. A restore seeks back to them, so the records
 * after a checkpoint are replayed exactly; at another parallelism every
 * subtask sees every item and keeps those of the files it now owns.
 *
 * Without follow, the files are listed once and the source is done when
 * each was read to its end; a last line without a newline is a line. With
 * follow, the directory is listed again (at most every LINES_RESCAN_MS)
 * when a produce found nothing new, appended lines are read as they come,
 * a partial last line waits for its newline, and the source never ends.
 * Names starting with '.' and anything but a regular file are skipped.
 *
 * Written against snapmark/snapmark.h alone, like a plugin.
 */
#include "operators/lines.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Processing time between two listings of the directory (follow). */
#define LINES_RESCAN_MS 100
/* The first read buffer; grown for a longer line, up to one record. */
#define LINES_BUF_START ((size_t) 64 << 10)
#define LINES_BUF_MAX ((size_t) SNAPMARK_MAX_BYTES + 1)

struct lines_config {
	char *path;
	int follow;
};

/* A file this subtask owns. */
struct lines_file {
	char *name;      /* relative to the directory (or the file's own) */
	uint64_t offset; /* the next unread line */
	int fd;          /* -1: not open */
	int done;        /* read to its end (not follow) */
};

struct lines {
	const struct lines_config *cfg;
	uint32_t subtask, parallelism;
	struct lines_file *files; /* sorted by name */
	size_t n_files, cap_files;
	char *buf;
	size_t buf_cap;
	int listed;        /* the path was listed at least once */
	int64_t listed_at; /* processing time of the last listing */
	int64_t last_watermark;
};

/* ------------------------------------------------------------ configure */

static int
lines_configure(const struct snapmark_option *options, size_t n,
    void **config, char *err, size_t errlen)
{
	const char *path = NULL;
	int follow = 0;

	for (size_t i = 0; i < n; i++) {
		const char *k = options[i].key, *v = options[i].value;
		if (strcmp(k, "path") == 0) {
			if (v[0] != '/') {
				snprintf(err, errlen,
				    "path must be an absolute path (of a "
				    "file or a directory), not '%s'",
				    v);
				return SNAPMARK_INVALID;
			}
			path = v;
		} else if (strcmp(k, "follow") == 0) {
			if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
				snprintf(err, errlen,
				    "follow must be true or false, not '%s'",
				    v);
				return SNAPMARK_INVALID;
			}
			follow = v[0] == 't';
		} else {
			snprintf(err, errlen,
			    "unknown option '%s' (lines takes path, follow)",
			    k);
			return SNAPMARK_INVALID;
		}
	}
	if (path == NULL) {
		snprintf(err, errlen,
		    "lines needs path = FILE_OR_DIR (an absolute path)");
		return SNAPMARK_INVALID;
	}
	struct lines_config *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	c->follow = follow;
	*config = c;
	return SNAPMARK_OK;
}

static void
lines_free_config(void *config)
{
	struct lines_config *c = config;
	if (c != NULL)
		free(c->path);
	free(c);
}

/* ------------------------------------------------------------- the files */

static uint32_t
lines_name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char) name[i];
		h *= 16777619u;
	}
	return h;
}

static int
lines_owns(const struct lines *l, const char *name, size_t len)
{
	return lines_name_hash(name, len) % l->parallelism == l->subtask;
}

/* lines_file_find: the index of name, or where it belongs (*found 0). */
static size_t
lines_file_find(const struct lines *l, const char *name, size_t len,
    int *found)
{
	size_t lo = 0, hi = l->n_files;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = l->files[mid].name;
		size_t mlen = strlen(m);
		int c = memcmp(m, name, mlen < len ? mlen : len);
		if (c == 0)
			c = mlen < len ? -1 : mlen > len;
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* lines_file_add: name (not yet known) at offset. */
static int
lines_file_add(struct lines *l, const char *name, size_t len, uint64_t offset)
{
	int found;
	size_t at = lines_file_find(l, name, len, &found);
	if (found)
		return SNAPMARK_OK;
	if (l->n_files == l->cap_files) {
		size_t cap = l->cap_files ? l->cap_files * 2 : 8;
		void *f = realloc(l->files, cap * sizeof(*l->files));
		if (f == NULL)
			return SNAPMARK_NOMEM;
		l->files = f;
		l->cap_files = cap;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return SNAPMARK_NOMEM;
	memcpy(copy, name, len);
	copy[len] = '\0';
	memmove(&l->files[at + 1], &l->files[at],
	    (l->n_files - at) * sizeof(*l->files));
	l->files[at] = (struct lines_file){ copy, offset, -1, 0 };
	l->n_files++;
	return SNAPMARK_OK;
}

/* lines_full_path: the path of file f. */
static int
lines_full_path(const struct lines *l, int is_dir, const struct lines_file *f,
    char *out, size_t len)
{
	int n = is_dir ? snprintf(out, len, "%s/%s", l->cfg->path, f->name)
	               : snprintf(out, len, "%s", l->cfg->path);
	return n > 0 && (size_t) n < len ? 0 : -1;
}

static int
lines_is_dir(const struct lines *l)
{
	struct stat st;
	return stat(l->cfg->path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* lines_list adds the files of the path this subtask owns. */
static int
lines_list(struct lines *l, snapmark_ctx *ctx)
{
	struct stat st;
	l->listed = 1;
	l->listed_at = snapmark_processing_time(ctx);
	if (stat(l->cfg->path, &st) != 0) {
		if (errno == ENOENT && l->cfg->follow)
			return SNAPMARK_OK; /* it may come */
		return snapmark_fail(ctx, "lines: cannot read %s: %s",
		    l->cfg->path, strerror(errno));
	}
	if (S_ISREG(st.st_mode)) {
		const char *slash = strrchr(l->cfg->path, '/');
		const char *name = slash != NULL ? slash + 1 : l->cfg->path;
		if (!lines_owns(l, name, strlen(name)))
			return SNAPMARK_OK;
		return lines_file_add(l, name, strlen(name), 0);
	}
	if (!S_ISDIR(st.st_mode))
		return snapmark_fail(ctx,
		    "lines: %s is neither a regular file nor a directory",
		    l->cfg->path);
	DIR *d = opendir(l->cfg->path);
	if (d == NULL)
		return snapmark_fail(ctx, "lines: cannot list %s: %s",
		    l->cfg->path, strerror(errno));
	int rv = SNAPMARK_OK;
	struct dirent *e;
	char path[4096];
	while (rv == SNAPMARK_OK && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || !lines_owns(l, e->d_name, len))
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", l->cfg->path,
		    e->d_name);
		if (n < 0 || (size_t) n >= sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		rv = lines_file_add(l, e->d_name, len, 0);
	}
	closedir(d);
	if (rv == SNAPMARK_NOMEM)
		return snapmark_fail(ctx, "lines: out of memory");
	return rv;
}

/* ----------------------------------------------------------- the reading */

static int
lines_emit(snapmark_ctx *ctx, const char *line, size_t len, int64_t now)
{
	struct snapmark_record r = {
		.key = "",
		.key_len = 0,
		.value = line,
		.value_len = (uint32_t) len,
		.timestamp = now,
	};
	return snapmark_emit(ctx, &r);
}

/*
 * lines_read emits up to *budget lines of f from its offset (lowering
 * *budget); *eof = 1 when it reached the end of what is there now.
 */
static int
lines_read(struct lines *l, snapmark_ctx *ctx, int is_dir,
    struct lines_file *f, size_t *budget, int64_t now, int *eof)
{
	char path[4096];
	*eof = 0;
	if (f->fd < 0) {
		if (lines_full_path(l, is_dir, f, path, sizeof(path)) != 0)
			return snapmark_fail(ctx, "lines: path too long: %s",
			    f->name);
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0) {
			if (errno == ENOENT) { /* gone: nothing more of it */
				*eof = 1;
				return SNAPMARK_OK;
			}
			return snapmark_fail(ctx, "lines: cannot open %s: %s",
			    path, strerror(errno));
		}
	}
	while (*budget > 0) {
		ssize_t n = pread(f->fd, l->buf, l->buf_cap, (off_t) f->offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return snapmark_fail(ctx, "lines: cannot read %s: %s",
			    f->name, strerror(errno));
		}
		size_t got = (size_t) n, start = 0;
		for (size_t i = 0; i < got && *budget > 0; i++) {
			if (l->buf[i] != '\n')
				continue;
			int rv = lines_emit(ctx, l->buf + start, i - start, now);
			if (rv != SNAPMARK_OK)
				return rv;
			f->offset += i - start + 1;
			start = i + 1;
			(*budget)--;
		}
		if (*budget == 0)
			return SNAPMARK_OK;
		size_t rest = got - start;
		if (got < l->buf_cap) {
			/* The end of the file as it is now. */
			if (rest > 0 && !l->cfg->follow) {
				int rv = lines_emit(ctx, l->buf + start, rest,
				    now);
				if (rv != SNAPMARK_OK)
					return rv;
				f->offset += rest;
				(*budget)--;
			}
			*eof = 1;
			return SNAPMARK_OK;
		}
		if (start == 0) {
			/* One line fills the buffer: a longer one. */
			if (l->buf_cap >= LINES_BUF_MAX)
				return snapmark_fail(ctx,
				    "lines: %s: a line at byte %llu is longer "
				    "than %u bytes",
				    f->name, (unsigned long long) f->offset,
				    (unsigned) SNAPMARK_MAX_BYTES);
			size_t cap = l->buf_cap * 2 < LINES_BUF_MAX
			    ? l->buf_cap * 2
			    : LINES_BUF_MAX;
			char *b = realloc(l->buf, cap);
			if (b == NULL)
				return snapmark_fail(ctx, "lines: out of memory");
			l->buf = b;
			l->buf_cap = cap;
		}
	}
	return SNAPMARK_OK;
}

/* ------------------------------------------------------------ callbacks */

static int
lines_open(snapmark_ctx *ctx, const void *config, void **self)
{
	struct lines *l = calloc(1, sizeof(*l));
	if (l == NULL || (l->buf = malloc(LINES_BUF_START)) == NULL) {
		free(l);
		return snapmark_fail(ctx, "lines: out of memory");
	}
	l->cfg = config;
	l->buf_cap = LINES_BUF_START;
	l->subtask = snapmark_subtask(ctx);
	l->parallelism = snapmark_parallelism(ctx);
	if (l->parallelism == 0)
		l->parallelism = 1;
	l->last_watermark = SNAPMARK_NO_TIME;
	*self = l;
	return SNAPMARK_OK;
}

static int
lines_restore(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id)
{
	struct lines *l = self;
	size_t n = snapmark_opstate_count(ctx);
	for (size_t i = 0; i < n; i++) {
		const void *item;
		uint32_t len;
		int rv = snapmark_opstate_item(ctx, i, &item, &len);
		if (rv != SNAPMARK_OK)
			return snapmark_fail(ctx,
			    "lines: cannot read position %zu", i);
		const unsigned char *b = item;
		if (len <= 8)
			return snapmark_fail(ctx,
			    "lines: a position of %u bytes (expected more "
			    "than 8)",
			    (unsigned) len);
		uint64_t offset = 0;
		for (int k = 0; k < 8; k++)
			offset = (offset << 8) | b[k];
		const char *name = (const char *) b + 8;
		size_t nlen = len - 8;
		if (!lines_owns(l, name, nlen))
			continue;
		if (lines_file_add(l, name, nlen, offset) != SNAPMARK_OK)
			return snapmark_fail(ctx, "lines: out of memory");
	}
	return SNAPMARK_OK;
}

static int
lines_produce(void *self, snapmark_ctx *ctx, size_t max, int *done)
{
	struct lines *l = self;
	int64_t now = snapmark_processing_time(ctx);
	size_t budget = max;
	int rv;

	*done = 0;
	if (!l->listed && (rv = lines_list(l, ctx)) != SNAPMARK_OK)
		return rv;
	int is_dir = lines_is_dir(l);
	for (size_t i = 0; i < l->n_files && budget > 0; i++) {
		struct lines_file *f = &l->files[i];
		int eof;
		if (f->done)
			continue;
		rv = lines_read(l, ctx, is_dir, f, &budget, now, &eof);
		if (rv != SNAPMARK_OK)
			return rv;
		if (eof && !l->cfg->follow) {
			f->done = 1;
			if (f->fd >= 0)
				close(f->fd);
			f->fd = -1;
		}
	}
	int all_done = 1;
	for (size_t i = 0; i < l->n_files; i++)
		if (!l->files[i].done)
			all_done = 0;
	if (l->cfg->follow && budget == max &&
	    now - l->listed_at >= LINES_RESCAN_MS &&
	    (rv = lines_list(l, ctx)) != SNAPMARK_OK)
		return rv;
	/* Every later record is stamped now or later. */
	if (now != SNAPMARK_NO_TIME && now - 1 > l->last_watermark) {
		rv = snapmark_watermark(ctx, now - 1);
		if (rv != SNAPMARK_OK)
			return rv;
		l->last_watermark = now - 1;
	}
	*done = !l->cfg->follow && all_done;
	return SNAPMARK_OK;
}

static int
lines_snapshot(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id)
{
	struct lines *l = self;
	unsigned char item[8 + 4096];
	for (size_t i = 0; i < l->n_files; i++) {
		const struct lines_file *f = &l->files[i];
		size_t len = strlen(f->name);
		if (len > sizeof(item) - 8)
			return snapmark_fail(ctx, "lines: file name too long");
		for (int k = 0; k < 8; k++)
			item[k] = (unsigned char) (f->offset >> (56 - 8 * k));
		memcpy(item + 8, f->name, len);
		int rv = snapmark_opstate_add(ctx, item, (uint32_t) (8 + len));
		if (rv != SNAPMARK_OK)
			return rv;
	}
	return SNAPMARK_OK;
}

static void
lines_close(void *self, snapmark_ctx *ctx)
{
	struct lines *l = self;
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n_files; i++) {
		if (l->files[i].fd >= 0)
			close(l->files[i].fd);
		free(l->files[i].name);
	}
	free(l->files);
	free(l->buf);
	free(l);
}

static const struct snapmark_operator lines_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "lines",
	.flags = SNAPMARK_SOURCE,
	.configure = lines_configure,
	.free_config = lines_free_config,
	.open = lines_open,
	.restore = lines_restore,
	.produce = lines_produce,
	.snapshot = lines_snapshot,
	.close = lines_close,
};

const struct snapmark_operator *
sm_lines_operator(void)
{
	return &lines_operator;
}
