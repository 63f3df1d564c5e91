/*
 * report.c - task events and declines sent to the coordinator (report.h).
 */
#include "worker/report.h"

#include <inttypes.h>

#include "common/error.h"
#include "common/log.h"

int
worker_report_event(worker_send_fn send, void *ctx, uint64_t epoch,
    uint32_t task, const char *task_name, Snapmark__TaskEvent__Kind kind,
    uint64_t checkpoint_id, const char *reason)
{
	Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
	ev.epoch = epoch;
	ev.task = task;
	ev.kind = kind;
	ev.reason = (char *) reason;
	if (checkpoint_id != 0) {
		ev.has_checkpoint_id = 1;
		ev.checkpoint_id = checkpoint_id;
	}
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_TASK_EVENT;
	c.task_event = &ev;
	int rv = send(ctx, &c);
	if (rv != SM_OK) {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		    &snapmark__task_event__kind__descriptor, (int) kind);
		sm_error("task %s: cannot report %s (epoch %" PRIu64
		         ") to the coordinator: %s",
		    task_name, v != NULL ? v->name : "an event", epoch,
		    sm_strerror(rv));
	}
	return rv;
}

void
worker_decline(worker_send_fn send, void *ctx, uint64_t epoch, uint64_t id,
    uint32_t task, const char *task_name, const char *reason)
{
	worker_decline_err(send, ctx, epoch, id, task, task_name, reason, 0);
}

void
worker_decline_err(worker_send_fn send, void *ctx, uint64_t epoch, uint64_t id,
    uint32_t task, const char *task_name, const char *reason, int err)
{
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = epoch;
	d.checkpoint_id = id;
	d.task = task;
	d.reason = (char *) reason;
	d.has_error = err != 0;
	d.error = (uint32_t) err;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_DECLINE;
	c.decline = &d;
	int rv = send(ctx, &c);
	sm_warn("task %s: declined checkpoint %" PRIu64 ": %s", task_name, id,
	    reason);
	if (rv != SM_OK)
		sm_error("task %s: cannot send the decline of checkpoint "
		         "%" PRIu64 " to the coordinator: %s",
		    task_name, id, sm_strerror(rv));
}
