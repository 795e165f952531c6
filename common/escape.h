/* SPDX-License-Identifier: BSD-3-Clause */
/* Escaping control characters in messages.  Compiled into both the
 * library and the plugin, which share no code at run time (the plugin
 * must also work with VMware's library). */
#ifndef COMMON_ESCAPE_H
#define COMMON_ESCAPE_H

#include <stddef.h>

/* Copy in to out (size bytes, always terminated, never cutting an
 * escape) with newline, tab and CR as \n, \t, \r and every other
 * control character, DEL, C1 control or byte that is not well-formed
 * UTF-8 as \xNN.  Printable ASCII and UTF-8 are unchanged, so escaping
 * twice changes nothing.  Returns the length the whole escaped text
 * needs (without the NUL); out may be NULL when size is 0. */
size_t escape_controls (char *out, size_t size, const char *in);

/* The escaped text, malloc'd; NULL if out of memory. */
char *escape_controls_dup (const char *in);

#endif
