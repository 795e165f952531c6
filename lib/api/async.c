/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdbool.h>
#include <stdlib.h>

#include "async.h"
#include "error.h"

#define POOL_THREADS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct vdl_job *head, *tail;
static pthread_t threads[POOL_THREADS];
static unsigned n_threads;
static bool stopping;

void
vdl_inflight_init (struct vdl_inflight *f)
{
  pthread_mutex_init (&f->lock, NULL);
  pthread_cond_init (&f->idle, NULL);
  f->count = 0;
}

void
vdl_inflight_destroy (struct vdl_inflight *f)
{
  pthread_cond_destroy (&f->idle);
  pthread_mutex_destroy (&f->lock);
}

void
vdl_inflight_wait (struct vdl_inflight *f)
{
  pthread_mutex_lock (&f->lock);
  while (f->count > 0)
    pthread_cond_wait (&f->idle, &f->lock);
  pthread_mutex_unlock (&f->lock);
}

bool
vdl_inflight_enter_if_idle (struct vdl_inflight *f)
{
  bool idle;

  pthread_mutex_lock (&f->lock);
  idle = f->count == 0;
  if (idle)
    f->count++;
  pthread_mutex_unlock (&f->lock);
  return idle;
}

void
vdl_inflight_leave (struct vdl_inflight *f)
{
  pthread_mutex_lock (&f->lock);
  if (--f->count == 0)
    pthread_cond_broadcast (&f->idle);
  pthread_mutex_unlock (&f->lock);
}

static void *
worker (void *arg)
{
  struct vdl_job *job;
  struct vdl_inflight *f;
  VixError err;

  (void) arg;
  for (;;) {
    pthread_mutex_lock (&lock);
    while (!head && !stopping)
      pthread_cond_wait (&work, &lock);
    if (!head) {
      pthread_mutex_unlock (&lock);
      return NULL;
    }
    job = head;
    head = job->next;
    if (!head)
      tail = NULL;
    pthread_mutex_unlock (&lock);

    err = job->run (job);
    f = job->inflight;
    /* The callback runs before Wait can return, so the caller may free
     * what the callback uses as soon as Wait returns. */
    if (job->callback)
      job->callback (job->callback_data, err);
    free (job);
    vdl_inflight_leave (f);
  }
}

VixError
vdl_async_submit (struct vdl_job *job)
{
  pthread_mutex_lock (&lock);
  stopping = false;
  while (n_threads < POOL_THREADS) {
    if (pthread_create (&threads[n_threads], NULL, worker, NULL) != 0)
      break;
    n_threads++;
  }
  if (n_threads == 0) {
    pthread_mutex_unlock (&lock);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "cannot start I/O threads");
  }
  pthread_mutex_lock (&job->inflight->lock);
  job->inflight->count++;
  pthread_mutex_unlock (&job->inflight->lock);
  job->next = NULL;
  if (tail)
    tail->next = job;
  else
    head = job;
  tail = job;
  pthread_cond_signal (&work);
  pthread_mutex_unlock (&lock);
  return VIX_ASYNC;
}

void
vdl_async_shutdown (void)
{
  unsigned i, n;

  pthread_mutex_lock (&lock);
  stopping = true;
  pthread_cond_broadcast (&work);
  n = n_threads;
  n_threads = 0;
  pthread_mutex_unlock (&lock);
  for (i = 0; i < n; i++)
    pthread_join (threads[i], NULL);
}
