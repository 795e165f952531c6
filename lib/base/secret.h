/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory for secrets: the password and the vSphere session cookie.
 *
 * Each secret lives in pages of its own, mapped for it alone: left out
 * of core dumps (MADV_DONTDUMP, which the kernel and gdb's gcore both
 * honour), locked against swapping where RLIMIT_MEMLOCK allows, and
 * zeroed before they are unmapped.  Copies that cannot live there
 * (SOAP bodies, escaped text, libcurl's buffers) are zeroed when freed:
 * see vdl_zfree.
 */
#ifndef VDL_SECRET_H
#define VDL_SECRET_H

#include <stddef.h>

/* A NUL-terminated copy of s (of its first n bytes for strndup); NULL
 * if s is NULL or memory ran out.  Free with vdl_secret_free. */
char *vdl_secret_strdup (const char *s);
char *vdl_secret_strndup (const char *s, size_t n);
/* prefix then s, as one secret ("vmware_soap_session=" + value). */
char *vdl_secret_concat (const char *prefix, const char *s);
/* Zero and unmap; NULL is ignored. */
void vdl_secret_free (char *s);

/* For heap blocks that held a secret: zero the whole block (as
 * malloc_usable_size sees it), then free.  vdl_zrealloc moves a block
 * to a larger one the same way, never leaving the old copy behind. */
void vdl_zfree (void *p);
void *vdl_zrealloc (void *p, size_t n);

#endif
