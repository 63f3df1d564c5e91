/*
 * catalog.c - the coordinator's checkpoint catalog in LMDB (catalog.h).
 */
#include "coordinator/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/store.h"

struct coord_catalog {
	struct sm_store *store;
	size_t retain; /* 0, or retention applied by coord_catalog_put */
};

int
coord_catalog_open(const char *dir, struct coord_catalog **out)
{
	struct coord_catalog *cat = calloc(1, sizeof(*cat));
	if (cat == NULL)
		return SM_ENOMEM;
	int rv = sm_store_open(dir, 0, SM_STORE_DURABLE, &cat->store);
	if (rv != SM_OK) {
		free(cat);
		return rv;
	}
	*out = cat;
	return SM_OK;
}

int
coord_catalog_open_readonly(const char *dir, struct coord_catalog **out)
{
	struct coord_catalog *cat = calloc(1, sizeof(*cat));
	if (cat == NULL)
		return SM_ENOMEM;
	int rv = sm_store_open(dir, 0, SM_STORE_READONLY, &cat->store);
	if (rv != SM_OK) {
		free(cat);
		return rv;
	}
	*out = cat;
	return SM_OK;
}

void
coord_catalog_close(struct coord_catalog *cat)
{
	if (cat == NULL)
		return;
	sm_store_close(cat->store);
	free(cat);
}

static int
counter_get(struct sm_txn *txn, const char *name, uint64_t *value)
{
	const void *val;
	size_t vlen;
	int rv = sm_txn_get(txn, name, strlen(name), &val, &vlen);
	if (rv == SM_ENOTFOUND) {
		*value = 0;
		return SM_OK;
	}
	if (rv != SM_OK)
		return rv;
	Snapmark__Counter *c = snapmark__counter__unpack(NULL, vlen, val);
	if (c == NULL) {
		sm_error("catalog: counter '%s' does not decode", name);
		return SM_ECORRUPT;
	}
	*value = c->value;
	snapmark__counter__free_unpacked(c, NULL);
	return SM_OK;
}

static int
counter_put_key(struct sm_txn *txn, const void *key, size_t klen,
    uint64_t value)
{
	Snapmark__Counter c = SNAPMARK__COUNTER__INIT;
	c.value = value;
	uint8_t buf[16];
	size_t len = snapmark__counter__pack(&c, buf);
	return sm_txn_put(txn, key, klen, buf, len);
}

static int
counter_put(struct sm_txn *txn, const char *name, uint64_t value)
{
	return counter_put_key(txn, name, strlen(name), value);
}

struct counter_bump {
	const char *name;
	uint64_t value;
};

static int
counter_bump_fn(struct sm_txn *txn, void *arg)
{
	struct counter_bump *b = arg;
	uint64_t v;
	int rv = counter_get(txn, b->name, &v);
	if (rv != SM_OK)
		return rv;
	if (v == 0)
		v = 1;
	b->value = v;
	return counter_put(txn, b->name, v + 1);
}

int
coord_catalog_next_id(struct coord_catalog *cat, uint64_t *id)
{
	struct counter_bump b = { .name = "next_id" };
	int rv = sm_store_write(cat->store, counter_bump_fn, &b);
	if (rv == SM_OK)
		*id = b.value;
	return rv;
}

int
coord_catalog_next_epoch(struct coord_catalog *cat, uint64_t *epoch)
{
	struct counter_bump b = { .name = "epoch" };
	int rv = sm_store_write(cat->store, counter_bump_fn, &b);
	if (rv == SM_OK)
		*epoch = b.value;
	return rv;
}

struct counter_read {
	const char *name;
	uint64_t value;
};

static int
counter_read_fn(struct sm_txn *txn, void *arg)
{
	struct counter_read *r = arg;
	return counter_get(txn, r->name, &r->value);
}

int
coord_catalog_counter(struct coord_catalog *cat, const char *name,
    uint64_t *value)
{
	struct counter_read r = { .name = name };
	int rv = sm_store_read(cat->store, counter_read_fn, &r);
	if (rv == SM_OK)
		*value = r.value;
	return rv;
}

static int
restart_bump_fn(struct sm_txn *txn, void *arg)
{
	uint64_t *total = arg;
	int rv = counter_get(txn, "restarts", total);
	if (rv != SM_OK)
		return rv;
	(*total)++;
	return counter_put(txn, "restarts", *total);
}

int
coord_catalog_count_restart(struct coord_catalog *cat, uint64_t *total)
{
	uint64_t v = 0;
	int rv = sm_store_write(cat->store, restart_bump_fn, &v);
	if (rv == SM_OK)
		*total = v;
	return rv;
}

struct job_check {
	const char *name;
	uint32_t crc, tasks;
	char *why;
	size_t whylen;
};

static int
job_check_fn(struct sm_txn *txn, void *arg)
{
	struct job_check *j = arg;
	const void *val;
	size_t vlen;
	int rv = sm_txn_get(txn, "job", 3, &val, &vlen);
	if (rv == SM_OK) {
		Snapmark__JobFingerprint *f =
		    snapmark__job_fingerprint__unpack(NULL, vlen, val);
		if (f == NULL) {
			snprintf(j->why, j->whylen,
			    "the catalog's job fingerprint does not decode");
			return SM_ECORRUPT;
		}
		int same = strcmp(f->name, j->name) == 0 &&
		    f->tasks == j->tasks;
		if (!same)
			snprintf(j->why, j->whylen,
			    "the run directory belongs to job '%s' (%u tasks), "
			    "not '%s' (%u tasks)",
			    f->name, f->tasks, j->name, j->tasks);
		snapmark__job_fingerprint__free_unpacked(f, NULL);
		return same ? SM_OK : SM_EINVAL;
	}
	if (rv != SM_ENOTFOUND)
		return rv;
	Snapmark__JobFingerprint f = SNAPMARK__JOB_FINGERPRINT__INIT;
	f.name = (char *) j->name;
	f.text_crc = j->crc;
	f.tasks = j->tasks;
	uint8_t buf[256];
	if (snapmark__job_fingerprint__get_packed_size(&f) > sizeof(buf))
		return SM_EINVAL;
	size_t len = snapmark__job_fingerprint__pack(&f, buf);
	return sm_txn_put(txn, "job", 3, buf, len);
}

int
coord_catalog_check_job(struct coord_catalog *cat, const char *name,
    uint32_t text_crc, uint32_t tasks, char *why, size_t whylen)
{
	struct job_check j = { .name = name, .crc = text_crc, .tasks = tasks,
		.why = why, .whylen = whylen };
	why[0] = '\0';
	return sm_store_write(cat->store, job_check_fn, &j);
}

struct counter_set {
	const char *name;
	uint64_t value;
};

static int
counter_set_fn(struct sm_txn *txn, void *arg)
{
	struct counter_set *c = arg;
	return counter_put(txn, c->name, c->value);
}

int
coord_catalog_put_counter(struct coord_catalog *cat, const char *name,
    uint64_t value)
{
	struct counter_set c = { .name = name, .value = value };
	return sm_store_write(cat->store, counter_set_fn, &c);
}

struct catalog_text {
	const char *name;
	const char *text; /* put */
	char *buf;        /* get */
	size_t len;
};

static int
text_put_fn(struct sm_txn *txn, void *arg)
{
	struct catalog_text *t = arg;
	return sm_txn_put(txn, t->name, strlen(t->name), t->text,
	    strlen(t->text));
}

int
coord_catalog_put_text(struct coord_catalog *cat, const char *name,
    const char *text)
{
	struct catalog_text t = { .name = name, .text = text };
	return sm_store_write(cat->store, text_put_fn, &t);
}

static int
text_get_fn(struct sm_txn *txn, void *arg)
{
	struct catalog_text *t = arg;
	const void *val;
	size_t vlen;
	int rv = sm_txn_get(txn, t->name, strlen(t->name), &val, &vlen);
	if (rv == SM_ENOTFOUND)
		vlen = 0;
	else if (rv != SM_OK)
		return rv;
	if (vlen >= t->len)
		vlen = t->len - 1;
	if (vlen > 0)
		memcpy(t->buf, val, vlen);
	t->buf[vlen] = '\0';
	return SM_OK;
}

int
coord_catalog_get_text(struct coord_catalog *cat, const char *name, char *buf,
    size_t len)
{
	if (len == 0)
		return SM_EINVAL;
	struct catalog_text t = { .name = name, .buf = buf, .len = len };
	return sm_store_read(cat->store, text_get_fn, &t);
}

static void
record_key(unsigned char *k, uint64_t id)
{
	k[0] = 'c';
	sm_be64_put(k + 1, id);
}

struct record_discard;
static int record_discard_fn(struct sm_txn *txn, void *arg);
static int coord_catalog_discard_in(struct sm_txn *txn, size_t keep);

struct record_put {
	const Snapmark__CheckpointRecord *rec;
	size_t retain;
};

static int
record_put_fn(struct sm_txn *txn, void *arg)
{
	const Snapmark__CheckpointRecord *rec =
	    ((const struct record_put *) arg)->rec;
	size_t len = snapmark__checkpoint_record__get_packed_size(rec);
	uint8_t *buf = malloc(len);
	if (buf == NULL)
		return SM_ENOMEM;
	snapmark__checkpoint_record__pack(rec, buf);
	unsigned char key[9];
	record_key(key, rec->id);
	int rv = sm_txn_put(txn, key, sizeof(key), buf, len);
	free(buf);
	/* Savepoints belong to the user, not to recovery: never "latest". */
	if (rv == SM_OK &&
	    rec->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED &&
	    !(rec->has_savepoint && rec->savepoint)) {
		uint64_t latest;
		rv = counter_get(txn, "latest", &latest);
		if (rv == SM_OK && rec->id > latest)
			rv = counter_put(txn, "latest", rec->id);
		/* The index of restorable checkpoints: "C" + id. */
		key[0] = 'C';
		if (rv == SM_OK)
			rv = counter_put_key(txn, key, sizeof(key), rec->id);
		/* Retention in the same transaction: no commit of its own. */
		size_t retain = ((const struct record_put *) arg)->retain;
		if (rv == SM_OK && retain > 0)
			rv = coord_catalog_discard_in(txn, retain);
	}
	return rv;
}

int
coord_catalog_put(struct coord_catalog *cat,
    const Snapmark__CheckpointRecord *rec)
{
	struct record_put p = { .rec = rec, .retain = cat->retain };
	return sm_store_write(cat->store, record_put_fn, &p);
}

void
coord_catalog_set_retention(struct coord_catalog *cat, size_t retain)
{
	cat->retain = retain;
}

struct record_get {
	uint64_t id;
	Snapmark__CheckpointRecord *rec;
};

static int
record_get_fn(struct sm_txn *txn, void *arg)
{
	struct record_get *g = arg;
	unsigned char key[9];
	record_key(key, g->id);
	const void *val;
	size_t vlen;
	int rv = sm_txn_get(txn, key, sizeof(key), &val, &vlen);
	if (rv != SM_OK)
		return rv;
	g->rec = snapmark__checkpoint_record__unpack(NULL, vlen, val);
	return g->rec != NULL ? SM_OK : SM_ECORRUPT;
}

int
coord_catalog_get(struct coord_catalog *cat, uint64_t id,
    Snapmark__CheckpointRecord **out)
{
	struct record_get g = { .id = id };
	int rv = sm_store_read(cat->store, record_get_fn, &g);
	if (rv == SM_OK)
		*out = g.rec;
	return rv;
}

/*
 * Listing walks an index newest first and stops after `max` ids (the "c"
 * records or the small "C" index of completed checkpoints), then unpacks
 * only those records: a long history costs nothing, and ids alone cost no
 * decode at all.
 */
struct id_list {
	uint64_t *ids;
	size_t n;
};

static int
id_list_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct id_list *l = arg;
	if (klen == 9)
		l->ids[l->n++] = sm_be64_get((const unsigned char *) key + 1);
	return SM_OK;
}

struct record_list {
	const char *index;        /* "c" every record, "C" completed ones */
	size_t max;
	struct id_list ids;       /* newest first */
	Snapmark__CheckpointRecord **out; /* NULL: ids only */
	size_t n_out;
};

static int
record_list_fn(struct sm_txn *txn, void *arg)
{
	struct record_list *l = arg;
	int rv = sm_txn_scan_newest(txn, l->index, 1, l->max, id_list_one,
	    &l->ids);
	for (size_t i = 0; rv == SM_OK && l->out != NULL && i < l->ids.n;
	     i++) {
		uint64_t id = l->ids.ids[i];
		unsigned char key[9];
		const void *val;
		size_t vlen;
		record_key(key, id);
		if (sm_txn_get(txn, key, sizeof(key), &val, &vlen) != SM_OK)
			continue;
		Snapmark__CheckpointRecord *r =
		    snapmark__checkpoint_record__unpack(NULL, vlen, val);
		if (r == NULL) {
			sm_warn("catalog: record %llu does not decode; skipped",
			    (unsigned long long) id);
			continue;
		}
		l->out[l->n_out++] = r;
	}
	return rv;
}

int
coord_catalog_list(struct coord_catalog *cat, size_t max, int completed_only,
    Snapmark__CheckpointRecord ***out, size_t *n)
{
	if (max == 0)
		return SM_EINVAL;
	struct record_list l = { .index = completed_only ? "C" : "c",
		.max = max };
	l.ids.ids = calloc(max, sizeof(*l.ids.ids));
	l.out = calloc(max, sizeof(*l.out));
	if (l.ids.ids == NULL || l.out == NULL) {
		free(l.ids.ids);
		free(l.out);
		return SM_ENOMEM;
	}
	int rv = sm_store_read(cat->store, record_list_fn, &l);
	free(l.ids.ids);
	if (rv != SM_OK) {
		for (size_t i = 0; i < l.n_out; i++)
			snapmark__checkpoint_record__free_unpacked(l.out[i],
			    NULL);
		free(l.out);
		return rv;
	}
	*out = l.out;
	*n = l.n_out;
	return SM_OK;
}

int
coord_catalog_completed_ids(struct coord_catalog *cat, size_t max,
    uint64_t *ids, size_t *n)
{
	struct record_list l = { .index = "C",
		.max = max,
		.ids = { .ids = ids } };
	int rv = sm_store_read(cat->store, record_list_fn, &l);
	*n = rv == SM_OK ? l.ids.n : 0;
	return rv;
}

int
coord_catalog_latest(struct coord_catalog *cat, uint64_t *id)
{
	return coord_catalog_counter(cat, "latest", id);
}

/* Retention: COMPLETED checkpoints beyond the newest `keep` of the "C"
 * index become DISCARDED (the record stays, the index entry goes). */
struct record_discard {
	size_t keep;
	uint64_t *ids; /* out: the ids discarded */
	size_t max, n;
};

static int
record_discard_fn(struct sm_txn *txn, void *arg)
{
	struct record_discard *d = arg;
	uint64_t scan[512];
	struct id_list l = { .ids = scan };
	size_t want = d->keep + d->max;
	if (want > 512)
		want = 512;
	int rv = sm_txn_scan_newest(txn, "C", 1, want, id_list_one, &l);
	for (size_t i = d->keep; rv == SM_OK && i < l.n; i++) {
		unsigned char key[9];
		const void *val;
		size_t vlen;
		record_key(key, scan[i]);
		Snapmark__CheckpointRecord *r = NULL;
		if (sm_txn_get(txn, key, sizeof(key), &val, &vlen) == SM_OK)
			r = snapmark__checkpoint_record__unpack(NULL, vlen,
			    val);
		if (r != NULL) {
			r->status =
			    SNAPMARK__CHECKPOINT_RECORD__STATUS__DISCARDED;
			size_t len =
			    snapmark__checkpoint_record__get_packed_size(r);
			uint8_t *buf = malloc(len);
			if (buf == NULL) {
				snapmark__checkpoint_record__free_unpacked(r,
				    NULL);
				return SM_ENOMEM;
			}
			snapmark__checkpoint_record__pack(r, buf);
			rv = sm_txn_put(txn, key, sizeof(key), buf, len);
			free(buf);
			snapmark__checkpoint_record__free_unpacked(r, NULL);
		}
		key[0] = 'C';
		if (rv == SM_OK)
			rv = sm_txn_del(txn, key, sizeof(key));
		if (rv == SM_OK && d->n < d->max)
			d->ids[d->n++] = scan[i];
	}
	return rv;
}

static int
coord_catalog_discard_in(struct sm_txn *txn, size_t keep)
{
	uint64_t ids[16];
	struct record_discard d = { .keep = keep, .ids = ids, .max = 16 };
	return record_discard_fn(txn, &d);
}

int
coord_catalog_discard_beyond(struct coord_catalog *cat, size_t keep,
    uint64_t *ids, size_t max, size_t *n)
{
	struct record_discard d = { .keep = keep, .ids = ids, .max = max };
	int rv = sm_store_write(cat->store, record_discard_fn, &d);
	*n = rv == SM_OK ? d.n : 0;
	return rv;
}

struct catalog_bytes {
	const char *name;
	const void *buf; /* put */
	size_t len;
	void *out;       /* get: malloc'ed */
};

static int
bytes_put_fn(struct sm_txn *txn, void *arg)
{
	struct catalog_bytes *b = arg;
	return sm_txn_put(txn, b->name, strlen(b->name), b->buf, b->len);
}

int
coord_catalog_put_bytes(struct coord_catalog *cat, const char *name,
    const void *buf, size_t len)
{
	struct catalog_bytes b = { .name = name, .buf = buf, .len = len };
	return sm_store_write(cat->store, bytes_put_fn, &b);
}

static int
bytes_get_fn(struct sm_txn *txn, void *arg)
{
	struct catalog_bytes *b = arg;
	const void *val;
	size_t vlen;
	int rv = sm_txn_get(txn, b->name, strlen(b->name), &val, &vlen);
	if (rv != SM_OK)
		return rv;
	if ((b->out = malloc(vlen > 0 ? vlen : 1)) == NULL)
		return SM_ENOMEM;
	memcpy(b->out, val, vlen);
	b->len = vlen;
	return SM_OK;
}

int
coord_catalog_get_bytes(struct coord_catalog *cat, const char *name,
    void **buf, size_t *len)
{
	struct catalog_bytes b = { .name = name };
	int rv = sm_store_read(cat->store, bytes_get_fn, &b);
	if (rv == SM_OK) {
		*buf = b.out;
		*len = b.len;
	}
	return rv;
}
