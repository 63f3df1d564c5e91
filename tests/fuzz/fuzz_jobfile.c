/*
 * fuzz_jobfile.c - libFuzzer target: any bytes as a job file.
 *
 * The contract under test: sm_job_parse either accepts a job or refuses
 * it with an error message; it never crashes, reads out of bounds or
 * leaks, whatever the input (the sanitizers of build-fuzz/ check that).
 * An accepted job's derived tables (task names, stages) are walked too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/jobfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sm_job job;
	char err[256];
	if (sm_job_parse(text, "fuzz.ini", &job, err, sizeof(err)) == SM_OK) {
		for (int t = 0; t < job.n_tasks; t++) {
			char name[160];
			sm_job_task_name(&job, t, name, sizeof(name));
			(void) sm_job_task_stage(&job, t);
		}
	} else if (err[0] == '\0') {
		abort(); /* a refusal must say why */
	}
	free(text);
	return 0;
}
