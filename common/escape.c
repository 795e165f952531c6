/* SPDX-License-Identifier: BSD-3-Clause */
/* Escaping control characters in messages (see escape.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* The length of the well-formed UTF-8 sequence at s, other than a C1
 * control (U+0080 to U+009F, which some terminals obey); 0 if there
 * is none. */
static size_t
utf8_printable (const unsigned char *s)
{
  unsigned char c = s[0], lo = 0x80, hi = 0xbf;
  size_t n, i;

  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    if (c == 0xc2)
      lo = 0xa0;
  }
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0;                /* no overlong forms */
    else if (c == 0xed)
      hi = 0x9f;                /* no surrogates */
  }
  else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;                /* nothing past U+10FFFF */
  }
  else
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return n;
}

size_t
escape_controls (char *out, size_t size, const char *in)
{
  const unsigned char *s = (const unsigned char *) in;
  char esc[5];
  const char *piece;
  size_t len = 0, n;

  while (*s) {
    if (*s >= 0x20 && *s != 0x7f && *s < 0x80) {
      piece = (const char *) s;
      n = 1;
    }
    else if (*s >= 0x80 && (n = utf8_printable (s)) > 0)
      piece = (const char *) s;
    else {
      if (*s == '\n')
        piece = "\\n";
      else if (*s == '\t')
        piece = "\\t";
      else if (*s == '\r')
        piece = "\\r";
      else {
        snprintf (esc, sizeof esc, "\\x%02x", *s);
        piece = esc;
      }
      n = strlen (piece);
      /* one byte of the input, whatever the escape's length */
      if (size && len + n < size)
        memcpy (out + len, piece, n);
      else if (size && len < size)
        size = len + 1;         /* an escape is never cut: stop here */
      len += n;
      s++;
      continue;
    }
    if (size && len + n < size)
      memcpy (out + len, piece, n);
    else if (size && len < size)
      size = len + 1;
    len += n;
    s += n;
  }
  if (size)
    out[len < size ? len : size - 1] = '\0';
  return len;
}

char *
escape_controls_dup (const char *in)
{
  size_t len = escape_controls (NULL, 0, in);
  char *out = malloc (len + 1);

  if (out)
    escape_controls (out, len + 1, in);
  return out;
}
