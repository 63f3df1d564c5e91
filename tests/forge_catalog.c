/*
 * forge_catalog.c - a forger's tool for tests/integration/forged_metadata.sh:
 * rewrites a completed checkpoint's record in a (stopped) coordinator's
 * catalog the way someone with write access to the run dir could, with
 * every checksum recomputed so that only the worker's checks of the
 * metadata itself (worker/trust.h) can refuse it.
 *
 *   forge_catalog DIR list
 *       the completed checkpoints, newest first: "ID" or "ID final"
 *   forge_catalog DIR pending ID TASK NAME
 *       add NAME as a pending file of checkpoint ID to TASK's inline
 *       snapshot (a sink's), and recompute the handle's checksum
 *   forge_catalog DIR location ID TASK PATH
 *       make TASK's handle in checkpoint ID name the store at PATH
 *
 * DIR is RUN/coordinator. Exit 0 on success, 1 with a message otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/catalog.h"
#include "common/checksum.h"
#include "common/error.h"

static int
forge_list(struct coord_catalog *cat)
{
	uint64_t ids[64];
	size_t n = 0;
	if (coord_catalog_completed_ids(cat, 64, ids, &n) != SM_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		Snapmark__CheckpointRecord *r;
		if (coord_catalog_get(cat, ids[i], &r) != SM_OK)
			return 1;
		printf("%" PRIu64 "%s\n", ids[i],
		    r->has_final && r->final ? " final" : "");
		snapmark__checkpoint_record__free_unpacked(r, NULL);
	}
	return 0;
}

static int
forge_pending(Snapmark__SnapshotHandle *h, uint64_t id, const char *name)
{
	if (!h->has_inline_meta) {
		fprintf(stderr,
		    "forge_catalog: the handle has no inline "
		    "snapshot\n");
		return 1;
	}
	Snapmark__SnapshotMeta *m = snapmark__snapshot_meta__unpack(NULL,
	    h->inline_meta.len, h->inline_meta.data);
	if (m == NULL)
		return 1;
	/* The unpacked arrays belong to protobuf-c: build new ones. */
	size_t n = m->n_sink_pending;
	char **names = calloc(n + 1, sizeof(*names));
	uint64_t *ids = calloc(n + 1, sizeof(*ids));
	if (names == NULL || ids == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		names[i] = m->sink_pending[i];
		ids[i] = m->sink_pending_id[i];
	}
	names[n] = (char *) name;
	ids[n] = id;
	char **old_names = m->sink_pending;
	uint64_t *old_ids = m->sink_pending_id;
	m->sink_pending = names;
	m->sink_pending_id = ids;
	m->n_sink_pending = m->n_sink_pending_id = n + 1;
	size_t len = snapmark__snapshot_meta__get_packed_size(m);
	uint8_t *buf = malloc(len);
	if (buf == NULL)
		return 1;
	snapmark__snapshot_meta__pack(m, buf);
	m->sink_pending = old_names;
	m->sink_pending_id = old_ids;
	m->n_sink_pending = m->n_sink_pending_id = n;
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	free(names);
	free(ids);
	/* the record owns inline_meta.data (freed with it) */
	free(h->inline_meta.data);
	h->inline_meta.data = buf;
	h->inline_meta.len = len;
	h->checksum = sm_crc32c(0, buf, len);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[2], "list") != 0 && argc != 6)) {
		fprintf(stderr,
		    "usage: forge_catalog DIR list | DIR pending ID "
		    "TASK NAME | DIR location ID TASK PATH\n");
		return 2;
	}
	struct coord_catalog *cat;
	if (coord_catalog_open(argv[1], &cat) != SM_OK) {
		fprintf(stderr, "forge_catalog: cannot open %s\n", argv[1]);
		return 1;
	}
	int rc = 1;
	if (strcmp(argv[2], "list") == 0) {
		rc = forge_list(cat);
		coord_catalog_close(cat);
		return rc;
	}
	uint64_t id = strtoull(argv[3], NULL, 10);
	Snapmark__CheckpointRecord *r = NULL;
	if (coord_catalog_get(cat, id, &r) != SM_OK) {
		fprintf(stderr, "forge_catalog: no checkpoint %" PRIu64 "\n",
		    id);
		coord_catalog_close(cat);
		return 1;
	}
	Snapmark__SnapshotHandle *h = NULL;
	for (size_t i = 0; i < r->n_tasks; i++)
		if (strcmp(r->tasks[i]->task_name, argv[4]) == 0)
			h = r->tasks[i]->handle;
	if (h == NULL) {
		fprintf(stderr,
		    "forge_catalog: checkpoint %" PRIu64 " has no task %s\n",
		    id, argv[4]);
	} else if (strcmp(argv[2], "pending") == 0) {
		rc = forge_pending(h, id, argv[5]);
	} else if (strcmp(argv[2], "location") == 0) {
		free(h->location);
		h->location = strdup(argv[5]);
		rc = h->location == NULL;
	} else {
		fprintf(stderr, "forge_catalog: unknown command %s\n",
		    argv[2]);
	}
	if (rc == 0 && coord_catalog_put(cat, r) != SM_OK) {
		fprintf(stderr, "forge_catalog: cannot write the record\n");
		rc = 1;
	}
	if (rc == 0)
		printf("forged checkpoint %" PRIu64 ": %s %s of %s\n", id,
		    argv[2], argv[5], argv[4]);
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	coord_catalog_close(cat);
	return rc;
}
