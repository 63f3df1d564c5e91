/*
 * cli_json.c - the JSON documents only the CLI prints, and how it prints
 * any of them: one compact line on stdout, so a script reads one document
 * per command (docs/CLI.md).
 */
#include "cli/cli_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "coordinator/message_json.h"

json_t *
cli_json_triggered(uint64_t id)
{
	json_t *doc = json_object();
	if (doc != NULL &&
	    json_object_set_new(doc, "checkpoint_id", sm_json_uint(id)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

json_t *
cli_json_canceled(void)
{
	return json_pack("{ss}", "state", "CANCELED");
}

int
cli_json_print(json_t *doc)
{
	char *text = doc != NULL ? sm_json_dump(doc) : NULL;
	json_decref(doc);
	if (text == NULL)
		return SM_ENOMEM;
	fputs(text, stdout);
	putchar('\n');
	free(text);
	return SM_OK;
}
