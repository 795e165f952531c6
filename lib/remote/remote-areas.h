/* SPDX-License-Identifier: BSD-3-Clause */
/* The areas of a flat disk file in use, from QueryChangedDiskAreas
 * (remote-areas.c), asked for as far as they are needed. */
#ifndef VDL_REMOTE_AREAS_H
#define VDL_REMOTE_AREAS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vdl_remote;

struct vdl_areas {
  /* Set by vdl_remote_areas_start. */
  char *name;                   /* the datastore file */
  int key;                      /* its disk's device key */
  uint64_t capacity;            /* the disk's (and the file's) size */
  /* Held only while the list is read or extended, never during a call,
   * so that the read-ahead may look without waiting for the server. */
  pthread_mutex_t lock;
  struct area *areas;           /* sorted, disjoint, each starting below
                                 * covered */
  size_t n, cap;
  uint64_t covered;             /* the answers so far are for [0, covered) */
  bool failed;                  /* no more answers: [covered, end) is data */
  unsigned calls;
};

/* Whether the areas of the datastore file name (size bytes) may be
 * asked for; no call yet.  False if not (then every byte is data), with
 * the reason in the debug log; true fills *out, which
 * vdl_remote_areas_free frees. */
bool vdl_remote_areas_start (struct vdl_remote *r, const char *name,
                             uint64_t size, struct vdl_areas *out);
/* Ask the server until the first area in use ending after offset is
 * known, or the whole file is; one caller at a time.  False if the
 * first answer failed (nothing is known: every byte is data); a later
 * failure leaves the rest of the file counted as data. */
bool vdl_remote_areas_fill (struct vdl_remote *r, struct vdl_areas *areas,
                            uint64_t offset);
/* The next area in use at or after offset, as vdl_file_next_data, from
 * what is known: the part not asked about yet counts as data.  Any
 * thread, any time after vdl_remote_areas_start. */
bool vdl_remote_areas_next (struct vdl_areas *areas, uint64_t offset,
                            uint64_t *data_start, uint64_t *data_end);
void vdl_remote_areas_free (struct vdl_areas *areas);

#endif
