/*
 * store.h - snapmark's only door to LMDB.
 *
 * One sm_store is one LMDB environment (one directory). The coordinator has
 * one for its checkpoint catalog; every task has one for its snapshots.
 * Keys are byte strings ordered by memcmp, so big-endian integer prefixes
 * make a checkpoint a contiguous key range.
 *
 * Writes go through sm_store_write(), which runs a caller function inside
 * one write transaction and commits it. If LMDB reports MDB_MAP_FULL the
 * transaction is aborted, the map is doubled and the function is run again
 * from scratch, so a full map never loses the write (the function must be
 * idempotent: it only issues puts/deletes on the txn it is given).
 *
 * Reads go through short read transactions (sm_store_read): no read
 * transaction outlives the call, so none pins pages and grows the file.
 * mdb_reader_check() runs at open to clear readers of dead processes.
 *
 * Durability: SM_STORE_DURABLE makes every commit fsync (coordinator);
 * without it the environment is opened MDB_NOSYNC and the caller must call
 * sm_store_sync() before it tells anyone the data is durable (tasks do so
 * before acknowledging a checkpoint).
 */
#ifndef SM_STORE_H
#define SM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct sm_store;
struct sm_txn;

#define SM_STORE_DURABLE 0x1

/* SM_STORE_EXISTING opens only an environment that is already there (DIR
 * holds data.mdb): nothing is created, SM_ENOTFOUND otherwise. Restores
 * open snapshots of other tasks and savepoints this way, so a stale or
 * wrong location never leaves an empty environment behind. */
#define SM_STORE_EXISTING 0x2

/* SM_STORE_READONLY (implies SM_STORE_EXISTING) opens an environment
 * with MDB_RDONLY: only sm_store_read may be used. `snapmark` reads an
 * ended job's catalog this way (coordinator/catalog.h). */
#define SM_STORE_READONLY 0x4

/* sm_store_open opens (creating the directory and its parents, mode 0700,
 * if needed; its files are 0600) the environment in dir with an initial
 * map of map_size bytes (0 = 64 MiB), or of the size the environment grew to
 * earlier if that is larger. Open a directory at most once per process (an
 * LMDB rule). Errors: SM_EINVAL, SM_ENOMEM, SM_EIO (directory or file access),
 * SM_ECORRUPT (not an LMDB environment), SM_ESTORE. */
int sm_store_open(const char *dir, size_t map_size, unsigned flags,
    struct sm_store **out);

/* sm_store_close closes; safe on NULL. No transaction may be open and no
 * other thread may be using the store. */
void sm_store_close(struct sm_store *st);

/* sm_store_path returns the directory the store was opened on. */
const char *sm_store_path(const struct sm_store *st);

/* sm_store_map_size returns the current map size in bytes. */
size_t sm_store_map_size(const struct sm_store *st);

/* A store function works only through the txn it is given, which is valid
 * until it returns. It must not call other sm_store_* functions on the same
 * store (no nested transactions: that could deadlock against map growth).
 * Reads may run in several threads at once and alongside one write; writes
 * from several threads are serialised. */
typedef int (*sm_store_fn)(struct sm_txn *txn, void *arg);

/* sm_store_write runs fn(txn, arg) in a write transaction and commits when
 * it returns SM_OK; aborts and returns its error otherwise. Grows the map
 * and retries on MDB_MAP_FULL (up to a limit: then SM_EMAPFULL). If any
 * sm_txn_* call inside fn reported SM_EMAPFULL the transaction is aborted
 * and retried whatever fn returned, so fn may simply pass that code up. fn
 * may therefore run several times; only the last run's writes are kept.
 * After SM_EMAPFULL nothing of the write is visible and the store remains
 * usable. */
int sm_store_write(struct sm_store *st, sm_store_fn fn, void *arg);

/* sm_store_read runs fn(txn, arg) in a read-only transaction, ended as soon
 * as fn returns; returns what fn returned. sm_txn_put/del on it fail with
 * SM_EINVAL. */
int sm_store_read(struct sm_store *st, sm_store_fn fn, void *arg);

/* sm_store_sync flushes the environment to disk (fsync); every commit that
 * returned before the call is durable when it returns SM_OK. */
int sm_store_sync(struct sm_store *st);

/* sm_txn_put stores value under key, replacing any previous value. Keys
 * are 1 to 511 bytes (LMDB's limit; SM_EINVAL otherwise); values may be
 * empty. SM_EMAPFULL is handled by sm_store_write; just return it. The same
 * holds for sm_txn_del and sm_txn_del_prefix, which also allocate pages. */
int sm_txn_put(struct sm_txn *txn, const void *key, size_t klen,
    const void *val, size_t vlen);

/* sm_txn_append is sm_txn_put for a key that sorts after every key in the
 * store (MDB_APPEND: no page search, leaf pages filled whole, the way to
 * write a large sorted run). SM_EAGAIN, without logging, when the key does
 * not sort last: put it with sm_txn_put instead. */
int sm_txn_append(struct sm_txn *txn, const void *key, size_t klen,
    const void *val, size_t vlen);

/* sm_txn_get finds key. On success *val and *vlen point into the map and stay
 * valid until the transaction ends. SM_ENOTFOUND if absent. */
int sm_txn_get(struct sm_txn *txn, const void *key, size_t klen,
    const void **val, size_t *vlen);

/* sm_txn_del deletes key; SM_OK also if it was absent. */
int sm_txn_del(struct sm_txn *txn, const void *key, size_t klen);

typedef int (*sm_scan_fn)(const void *key, size_t klen, const void *val,
    size_t vlen, void *arg);

/* sm_txn_scan calls fn for every key starting with prefix, in key order.
 * fn returning non-zero stops the scan; that value is returned. Pointers
 * passed to fn are valid until the transaction ends. */
int sm_txn_scan(struct sm_txn *txn, const void *prefix, size_t plen,
    sm_scan_fn fn, void *arg);

/* sm_txn_scan_newest calls fn for at most max keys starting with prefix,
 * from the greatest down: the newest ids of an index without reading the
 * older ones. Otherwise as sm_txn_scan. */
int sm_txn_scan_newest(struct sm_txn *txn, const void *prefix, size_t plen,
    size_t max, sm_scan_fn fn, void *arg);

/* sm_txn_del_prefix deletes every key starting with prefix; *deleted (if
 * not NULL) receives how many. */
int sm_txn_del_prefix(struct sm_txn *txn, const void *prefix, size_t plen,
    uint64_t *deleted);

/* Fault seam for tests: cap map growth at max_map_size bytes for every
 * store of the process, so sm_store_write returns SM_EMAPFULL once a write
 * would need a larger map (0 restores the default cap of 64 GiB). Takes
 * effect at the next growth; it never shrinks a map. */
void sm_store_fault_map_limit(size_t max_map_size);

/* Big-endian helpers for ordered keys: 8 bytes at p, memcmp order equals
 * numeric order. */
static inline void
sm_be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t
sm_be64_get(const unsigned char *p)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return __builtin_bswap64(v);
#else
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
#endif
}

#endif
