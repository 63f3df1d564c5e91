/*
 * store.c - owns every call into LMDB (see store.h for the contract).
 *
 * One sm_store wraps one MDB_env opened MDB_NOTLS (a store is handed between
 * threads over its life, so reader slots must follow transactions, not
 * threads) and uses only the unnamed main database: keys ordered by memcmp,
 * no named databases, no MDB_DUPSORT (buggy in 0.9.24).
 *
 * Growing the map. mdb_env_set_mapsize() unmaps and remaps the file, so no
 * transaction of this process may be open while it runs; LMDB does not check
 * that. Two locks enforce it:
 *   - write_mu serialises writers (one LMDB writer per environment anyway)
 *     and is held for the whole of sm_store_write(), retries included;
 *   - map_lock is a read-write lock held shared by every transaction (read
 *     or write) for its whole life and exclusively by whoever remaps, which
 *     is the writer growing on MDB_MAP_FULL or anyone adopting a size
 *     another process grew to (MDB_MAP_RESIZED).
 * Lock order is write_mu before map_lock. map_lock prefers writers, so a
 * steady stream of readers cannot starve growth; that is also why a store
 * callback must not open a second transaction on the same store (it would
 * take map_lock twice and could deadlock behind a waiting remap).
 *
 * On MDB_MAP_FULL the write transaction is aborted, the map is doubled (up to
 * a cap) and the caller's function is run again from scratch: a transaction
 * that hit MDB_MAP_FULL is unusable, so there is nothing to resume.
 */
#include "common/store.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/error.h"
#include "common/log.h"

/* 64 MiB: LMDB 0.9.24's own default is a 1 MiB map. */
#define SM_STORE_DEFAULT_MAP ((size_t) 64 << 20)

/* Growth stops here unless sm_store_fault_map_limit() lowers it. The map is
 * address space, not disk (no MDB_WRITEMAP, so the file only grows as pages
 * are written), but it must still fit the process's address space. */
#define SM_STORE_MAP_LIMIT                                                   \
	(sizeof(size_t) > 4 ? (size_t) 64 << 30 : (size_t) 1 << 30)

/* Reader slots are taken per open read transaction (MDB_NOTLS), by our
 * threads and by outside readers such as mdb_stat/mdb_dump. LMDB's default
 * of 126 is plenty for a process with a handful of threads per store. */
#define SM_STORE_MAXREADERS 126

/* How often a transaction start may meet MDB_MAP_RESIZED in a row before we
 * give up; each time we adopt the new size, so more than one or two means
 * another process keeps growing the map underneath us. */
#define SM_STORE_RESIZE_TRIES 8

struct sm_store {
	MDB_env *env;
	MDB_dbi dbi;
	char *path;
	atomic_size_t map_size;
	atomic_int dead; /* a remap failed: the env has no map any more */
	pthread_mutex_t write_mu;
	pthread_rwlock_t map_lock;
};

struct sm_txn {
	MDB_txn *txn;
	MDB_dbi dbi;
	struct sm_store *st;
	int mapfull; /* an LMDB call in this txn returned MDB_MAP_FULL */
};

static atomic_size_t store_map_limit; /* 0 = SM_STORE_MAP_LIMIT */

void
sm_store_fault_map_limit(size_t max_map_size)
{
	atomic_store(&store_map_limit, max_map_size);
}

static size_t
store_limit(void)
{
	size_t lim = atomic_load(&store_map_limit);
	return lim != 0 ? lim : SM_STORE_MAP_LIMIT;
}

/* store_fmt_size prints n bytes in the largest binary unit that fits. */
static const char *
store_fmt_size(char *buf, size_t len, size_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (u < 4 && n >= ((size_t) 1 << (10 * (u + 1))))
		u++;
	size_t unit = (size_t) 1 << (10 * u);
	if (n % unit == 0)
		snprintf(buf, len, "%zu %s", n / unit, units[u]);
	else
		snprintf(buf, len, "%.1f %s", (double) n / (double) unit,
		    units[u]);
	return buf;
}

/* Free space below which an EIO from LMDB is taken for a full disk. */
#define SM_STORE_FULL_BELOW ((uint64_t) 1 << 20)

/* store_disk_full: LMDB 0.9 reports a short write (the disk filled up
 * in the middle of it) as EIO, not ENOSPC; a file system with almost no
 * space (or no inodes) left is the likelier cause. */
static int
store_disk_full(const struct sm_store *st)
{
	struct statvfs vfs;
	if (statvfs(st->path, &vfs) != 0)
		return 0;
	uint64_t free_bytes = (uint64_t) vfs.f_bavail * vfs.f_frsize;
	return free_bytes < SM_STORE_FULL_BELOW ||
	    (vfs.f_files > 0 && vfs.f_favail == 0);
}

/* store_err translates an LMDB (or errno) code into an sm_err, logging the
 * failures that nobody above us expects. MDB_NOTFOUND and MDB_MAP_FULL are
 * ordinary outcomes and stay quiet. */
static int
store_err(const struct sm_store *st, const char *what, int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return SM_OK;
	case MDB_NOTFOUND:
		return SM_ENOTFOUND;
	case MDB_MAP_FULL:
		return SM_EMAPFULL;
	case MDB_BAD_VALSIZE:
	case EINVAL:
	case EACCES: /* a write on a read-only transaction */
		sm_warn("store %s: %s: %s", st->path, what, mdb_strerror(rc));
		return SM_EINVAL;
	case MDB_CORRUPTED:
	case MDB_INVALID:
	case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH:
		sm_error("store %s: %s: %s", st->path, what, mdb_strerror(rc));
		return SM_ECORRUPT;
	case ENOMEM:
		sm_error("store %s: %s: %s", st->path, what, mdb_strerror(rc));
		return SM_ENOMEM;
	case EIO: /* a short write on a full disk is ENOSPC below */
		if (!store_disk_full(st)) {
			sm_error("store %s: %s: %s", st->path, what,
			    mdb_strerror(rc));
			return SM_EIO;
		}
		/* fall through */
	case ENOSPC:
	case EDQUOT:
		/* The disk is full: the caller declines and tries again
		 * later; no data in the store was harmed. */
		sm_warn("store %s: %s: no space left on device", st->path,
		    what);
		return SM_ENOSPC;
	default:
		sm_error("store %s: %s: %s", st->path, what, mdb_strerror(rc));
		return rc > 0 ? SM_EIO : SM_ESTORE;
	}
}

/* store_mkdirs creates dir and its missing parents (mode 0700: state is
 * nobody else's business, whatever the umask). */
static int
store_mkdirs(const char *dir)
{
	char *p = strdup(dir);
	int rv = SM_OK;
	if (p == NULL)
		return SM_ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			int e = errno;
			sm_error("store %s: mkdir %s: %s", dir, p,
			    strerror(e));
			rv = sm_err_from_errno(e);
			goto fail;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		sm_error("store %s: not a directory", dir);
		rv = SM_EIO;
		goto fail;
	}
fail:
	free(p);
	return rv;
}

/* store_remap sets the map to size bytes (0 = the size recorded in the
 * environment, for MDB_MAP_RESIZED). The caller holds map_lock exclusively,
 * so no transaction of this process is open. If LMDB fails after it has
 * unmapped, the env has no map left and the store is marked dead. */
static int
store_remap(struct sm_store *st, size_t size)
{
	MDB_envinfo info;
	int rc = mdb_env_set_mapsize(st->env, size);
	if (rc != 0) {
		atomic_store(&st->dead, 1);
		return store_err(st, "mdb_env_set_mapsize", rc);
	}
	mdb_env_info(st->env, &info);
	atomic_store(&st->map_size, info.me_mapsize);
	return SM_OK;
}

/* store_adopt_resize handles MDB_MAP_RESIZED: another process grew the map
 * beyond ours, so take over the size it recorded. */
static int
store_adopt_resize(struct sm_store *st)
{
	pthread_rwlock_wrlock(&st->map_lock);
	int rv = store_remap(st, 0);
	pthread_rwlock_unlock(&st->map_lock);
	if (rv == SM_OK) {
		char a[32];
		sm_info("store %s: map grown by another process, now %s",
		    st->path,
		    store_fmt_size(a, sizeof(a), atomic_load(&st->map_size)));
	}
	return rv;
}

/* store_grow doubles the map after MDB_MAP_FULL, capped at store_limit().
 * Called with write_mu held and no transaction open. SM_EMAPFULL when the
 * map is already at the cap. */
static int
store_grow(struct sm_store *st)
{
	size_t cur = atomic_load(&st->map_size);
	size_t lim = store_limit();
	size_t next = cur > lim / 2 ? lim : cur * 2;
	char a[32], b[32];
	if (next <= cur) {
		sm_warn("store %s: map full at %s, limit %s reached", st->path,
		    store_fmt_size(a, sizeof(a), cur),
		    store_fmt_size(b, sizeof(b), lim));
		return SM_EMAPFULL;
	}
	sm_info("store %s: map full, growing %s -> %s", st->path,
	    store_fmt_size(a, sizeof(a), cur),
	    store_fmt_size(b, sizeof(b), next));
	pthread_rwlock_wrlock(&st->map_lock);
	int rv = store_remap(st, next);
	pthread_rwlock_unlock(&st->map_lock);
	return rv;
}

/* store_begin starts a transaction with map_lock held shared, adopting a
 * map grown by another process on the way. On success the caller holds
 * map_lock and must release it after ending the transaction. */
static int
store_begin(struct sm_store *st, unsigned flags, MDB_txn **out)
{
	MDB_txn *txn;
	int rv;
	for (int tries = 0;; tries++) {
		if (atomic_load(&st->dead)) {
			rv = SM_ESTORE;
			goto fail;
		}
		pthread_rwlock_rdlock(&st->map_lock);
		int rc = mdb_txn_begin(st->env, NULL, flags, &txn);
		if (rc == 0)
			break;
		pthread_rwlock_unlock(&st->map_lock);
		if (rc != MDB_MAP_RESIZED || tries >= SM_STORE_RESIZE_TRIES) {
			rv = store_err(st, "mdb_txn_begin", rc);
			goto fail;
		}
		if ((rv = store_adopt_resize(st)) != SM_OK)
			goto fail;
	}
	*out = txn;
	return SM_OK;
fail:
	return rv;
}

int
sm_store_open(const char *dir, size_t map_size, unsigned flags,
    struct sm_store **out)
{
	struct sm_store *st;
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	int rc, rv, dead = 0;
	int have_mu = 0, have_lock = 0;
	pthread_rwlockattr_t la;
	unsigned envflags = MDB_NOTLS;

	if (dir == NULL || *dir == '\0' || out == NULL)
		return SM_EINVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return SM_ENOMEM;
	if ((st->path = strdup(dir)) == NULL) {
		rv = SM_ENOMEM;
		goto fail;
	}
	if (map_size == 0)
		map_size = SM_STORE_DEFAULT_MAP;
	if ((flags & SM_STORE_DURABLE) == 0)
		envflags |= MDB_NOSYNC;
	if (flags & SM_STORE_READONLY) {
		envflags |= MDB_RDONLY;
		flags |= SM_STORE_EXISTING;
	}

	if (pthread_mutex_init(&st->write_mu, NULL) != 0) {
		rv = SM_ENOMEM;
		goto fail;
	}
	have_mu = 1;
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(
	    &la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&st->map_lock, &la);
	pthread_rwlockattr_destroy(&la);
	if (rc != 0) {
		rv = SM_ENOMEM;
		goto fail;
	}
	have_lock = 1;

	if (flags & SM_STORE_EXISTING) {
		struct stat sb;
		char data[PATH_MAX];
		snprintf(data, sizeof(data), "%s/data.mdb", dir);
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    stat(data, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			rv = SM_ENOTFOUND;
			goto fail;
		}
	} else if ((rv = store_mkdirs(dir)) != SM_OK) {
		goto fail;
	}
	if ((rc = mdb_env_create(&st->env)) != 0) {
		rv = store_err(st, "mdb_env_create", rc);
		goto fail;
	}
	if ((rc = mdb_env_set_mapsize(st->env, map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, SM_STORE_MAXREADERS)) !=
	        0) {
		rv = store_err(st, "mdb_env_set", rc);
		goto fail;
	}
	if ((rc = mdb_env_open(st->env, dir, envflags, 0600)) != 0) {
		rv = store_err(st, "mdb_env_open", rc);
		goto fail;
	}

	/* LMDB opens with the size asked for even if the environment grew
	 * earlier (it only rounds up to the space in use). Take the size the
	 * environment recorded when that is larger, so a store does not grow
	 * step by step again after every restart. No txn is open yet. */
	if ((rc = mdb_env_set_mapsize(st->env, 0)) != 0) {
		rv = store_err(st, "mdb_env_set_mapsize", rc);
		goto fail;
	}
	mdb_env_info(st->env, &info);
	if (info.me_mapsize < map_size) {
		if ((rc = mdb_env_set_mapsize(st->env, map_size)) != 0) {
			rv = store_err(st, "mdb_env_set_mapsize", rc);
			goto fail;
		}
		mdb_env_info(st->env, &info);
	}
	atomic_store(&st->map_size, info.me_mapsize);

	/* Reader slots of crashed processes pin old pages until cleared. */
	if ((rc = mdb_reader_check(st->env, &dead)) != 0) {
		rv = store_err(st, "mdb_reader_check", rc);
		goto fail;
	}
	if (dead > 0)
		sm_warn("store %s: cleared %d stale reader%s", dir, dead,
		    dead == 1 ? "" : "s");

	if ((rv = store_begin(st,
	         (flags & SM_STORE_READONLY) ? MDB_RDONLY : 0, &txn)) != SM_OK)
		goto fail;
	rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->map_lock);
	if (rc != 0) {
		rv = store_err(st, "mdb_dbi_open", rc);
		goto fail;
	}
	*out = st;
	return SM_OK;

fail:
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (have_lock)
		pthread_rwlock_destroy(&st->map_lock);
	if (have_mu)
		pthread_mutex_destroy(&st->write_mu);
	free(st->path);
	free(st);
	return rv;
}

void
sm_store_close(struct sm_store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->map_lock);
	pthread_mutex_destroy(&st->write_mu);
	free(st->path);
	free(st);
}

const char *
sm_store_path(const struct sm_store *st)
{
	return st->path;
}

size_t
sm_store_map_size(const struct sm_store *st)
{
	return atomic_load(&((struct sm_store *) st)->map_size);
}

int
sm_store_write(struct sm_store *st, sm_store_fn fn, void *arg)
{
	struct sm_txn t;
	int rv, rc;

	pthread_mutex_lock(&st->write_mu);
	for (;;) {
		if ((rv = store_begin(st, 0, &t.txn)) != SM_OK)
			goto fail;
		t.dbi = st->dbi;
		t.st = st;
		t.mapfull = 0;
		rv = fn(&t, arg);
		if (rv != SM_OK || t.mapfull) {
			mdb_txn_abort(t.txn);
			pthread_rwlock_unlock(&st->map_lock);
			if (rv != SM_EMAPFULL && !t.mapfull)
				goto fail;
		} else {
			/* The handle is freed by commit, success or not. */
			rc = mdb_txn_commit(t.txn);
			pthread_rwlock_unlock(&st->map_lock);
			if (rc == 0)
				break;
			rv = store_err(st, "mdb_txn_commit", rc);
			if (rc != MDB_MAP_FULL)
				goto fail;
		}
		/* Map full: the txn is gone; grow and run fn from scratch. */
		if ((rv = store_grow(st)) != SM_OK)
			goto fail;
	}
	pthread_mutex_unlock(&st->write_mu);
	return SM_OK;

fail:
	pthread_mutex_unlock(&st->write_mu);
	return rv;
}

int
sm_store_read(struct sm_store *st, sm_store_fn fn, void *arg)
{
	struct sm_txn t;
	int rv;

	if ((rv = store_begin(st, MDB_RDONLY, &t.txn)) != SM_OK)
		goto fail;
	t.dbi = st->dbi;
	t.st = st;
	t.mapfull = 0;
	rv = fn(&t, arg);
	/* Never keep a reader: an open one pins pages and grows the file. */
	mdb_txn_abort(t.txn);
	pthread_rwlock_unlock(&st->map_lock);
fail:
	return rv;
}

int
sm_store_sync(struct sm_store *st)
{
	/* Without MDB_WRITEMAP this is an fdatasync of the data file: it
	 * touches no mapped memory, so it needs no lock against remaps. */
	int rc = mdb_env_sync(st->env, 1);
	return rc == 0 ? SM_OK : store_err(st, "mdb_env_sync", rc);
}

/* txn_err is store_err for calls inside a transaction; it remembers
 * MDB_MAP_FULL so sm_store_write grows even if fn swallows the error. */
static int
txn_err(struct sm_txn *txn, const char *what, int rc)
{
	if (rc == MDB_MAP_FULL)
		txn->mapfull = 1;
	return store_err(txn->st, what, rc);
}

int
sm_txn_put(struct sm_txn *txn, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *) key };
	MDB_val v = { vlen, (void *) val };
	int rc = mdb_put(txn->txn, txn->dbi, &k, &v, 0);
	return rc == 0 ? SM_OK : txn_err(txn, "mdb_put", rc);
}

int
sm_txn_append(struct sm_txn *txn, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *) key };
	MDB_val v = { vlen, (void *) val };
	int rc = mdb_put(txn->txn, txn->dbi, &k, &v, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return SM_EAGAIN;
	return rc == 0 ? SM_OK : txn_err(txn, "mdb_put", rc);
}

int
sm_txn_get(struct sm_txn *txn, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *) key };
	MDB_val v;
	int rc = mdb_get(txn->txn, txn->dbi, &k, &v);
	if (rc != 0)
		return txn_err(txn, "mdb_get", rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return SM_OK;
}

int
sm_txn_del(struct sm_txn *txn, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *) key };
	int rc = mdb_del(txn->txn, txn->dbi, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return SM_OK;
	return rc == 0 ? SM_OK : txn_err(txn, "mdb_del", rc);
}

/* txn_seek opens a cursor on the first key >= prefix (the first key at all
 * for an empty prefix). *rc is MDB_NOTFOUND when there is no such key. */
static int
txn_seek(struct sm_txn *txn, const void *prefix, size_t plen,
    MDB_cursor **curp, MDB_val *k, MDB_val *v, int *rc)
{
	MDB_cursor *cur;
	int c = mdb_cursor_open(txn->txn, txn->dbi, &cur);
	if (c != 0)
		return txn_err(txn, "mdb_cursor_open", c);
	k->mv_size = plen;
	k->mv_data = (void *) prefix;
	c = mdb_cursor_get(cur, k, v, plen == 0 ? MDB_FIRST : MDB_SET_RANGE);
	if (c != 0 && c != MDB_NOTFOUND) {
		mdb_cursor_close(cur);
		return txn_err(txn, "mdb_cursor_get", c);
	}
	*curp = cur;
	*rc = c;
	return SM_OK;
}

static int
txn_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
	return k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0;
}

int
sm_txn_scan(struct sm_txn *txn, const void *prefix, size_t plen,
    sm_scan_fn fn, void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = MDB_NOTFOUND, rv;

	if ((rv = txn_seek(txn, prefix, plen, &cur, &k, &v, &rc)) != SM_OK)
		return rv;
	while (rc == 0 && txn_has_prefix(&k, prefix, plen)) {
		if ((rv = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size,
		         arg)) != 0)
			goto done;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		rv = txn_err(txn, "mdb_cursor_get", rc);
done:
	mdb_cursor_close(cur);
	return rv;
}

int
sm_txn_scan_newest(struct sm_txn *txn, const void *prefix, size_t plen,
    size_t max, sm_scan_fn fn, void *arg)
{
	unsigned char after[64];
	MDB_cursor *cur;
	MDB_val k, v;
	if (plen == 0 || plen > sizeof(after))
		return SM_EINVAL;
	/* The first key past the prefix range: the prefix with its last
	 * byte that is not 0xff incremented. */
	memcpy(after, prefix, plen);
	size_t alen = plen;
	while (alen > 0 && after[alen - 1] == 0xff)
		alen--;
	int c = mdb_cursor_open(txn->txn, txn->dbi, &cur);
	if (c != 0)
		return txn_err(txn, "mdb_cursor_open", c);
	if (alen == 0) {
		c = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	} else {
		after[alen - 1]++;
		k.mv_size = alen;
		k.mv_data = after;
		c = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		c = c == 0              ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
		    : c == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
		                        : c;
	}
	int rv = SM_OK;
	for (size_t n = 0;
	     c == 0 && n < max && txn_has_prefix(&k, prefix, plen); n++) {
		if ((rv = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size,
		         arg)) != 0)
			break;
		c = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	if (rv == SM_OK && c != 0 && c != MDB_NOTFOUND)
		rv = txn_err(txn, "mdb_cursor_get", c);
	mdb_cursor_close(cur);
	return rv;
}

int
sm_txn_del_prefix(struct sm_txn *txn, const void *prefix, size_t plen,
    uint64_t *deleted)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t n = 0;
	int rc = MDB_NOTFOUND, rv;

	if ((rv = txn_seek(txn, prefix, plen, &cur, &k, &v, &rc)) != SM_OK)
		return rv;
	while (rc == 0 && txn_has_prefix(&k, prefix, plen)) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
		/* After a delete the cursor already sits on the successor;
		 * LMDB's MDB_NEXT knows that and returns it, not the one
		 * after. */
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_err(txn, "mdb_cursor_del", rc);
	if (deleted != NULL)
		*deleted = n;
	return SM_OK;
}
