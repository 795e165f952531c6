/* SPDX-License-Identifier: BSD-3-Clause */
/* The areas of a flat disk file in use, from QueryChangedDiskAreas
 * (remote-areas.c). */
#ifndef VDL_REMOTE_AREAS_H
#define VDL_REMOTE_AREAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vdl_remote;

struct vdl_areas {
  struct area *areas;           /* sorted, disjoint */
  size_t n;
};

/* Ask the server which areas of the datastore file name (size bytes)
 * are in use; false if it cannot be asked or does not answer usably
 * (then every byte is data), with the reason in the debug log. */
bool vdl_remote_areas_load (struct vdl_remote *r, const char *name,
                            uint64_t size, struct vdl_areas *out);
/* The next area in use at or after offset, as vdl_file_next_data. */
bool vdl_remote_areas_next (const struct vdl_areas *areas, uint64_t offset,
                            uint64_t *data_start, uint64_t *data_end);
void vdl_remote_areas_free (struct vdl_areas *areas);

#endif
