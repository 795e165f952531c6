/* SPDX-License-Identifier: BSD-3-Clause */
/* A small pool of threads that runs asynchronous reads and writes, so one
 * connection can have several requests in progress at once.  Completion
 * callbacks run on pool threads. */
#ifndef VDL_ASYNC_H
#define VDL_ASYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vixDiskLib.h"

/* Counts a handle's requests in flight, so Wait can wait for them. */
struct vdl_inflight {
  pthread_mutex_t lock;
  pthread_cond_t idle;
  unsigned count;
};

struct vdl_job {
  struct vdl_job *next;
  VixError (*run) (struct vdl_job *job);
  VixDiskLibCompletionCB callback;
  void *callback_data;
  struct vdl_inflight *inflight;
  /* What run works on. */
  void *target;
  uint64_t sector, count;
  unsigned char *buf;
};

void vdl_inflight_init (struct vdl_inflight *f);
void vdl_inflight_destroy (struct vdl_inflight *f);
void vdl_inflight_wait (struct vdl_inflight *f);
/* If nothing is in flight, count one request (run by the caller) and
 * return true; vdl_inflight_leave when it is done.  So Wait and Close on
 * other threads wait for requests run inline too. */
bool vdl_inflight_enter_if_idle (struct vdl_inflight *f);
void vdl_inflight_leave (struct vdl_inflight *f);

/* Queue a job (which the pool frees when done). */
VixError vdl_async_submit (struct vdl_job *job);
/* Stop the pool threads (VixDiskLib_Exit). */
void vdl_async_shutdown (void);

#endif
