/* SPDX-License-Identifier: BSD-3-Clause */
/* The thumbprint pin: the only thing a remote connection trusts.  The
 * server's leaf certificate is hashed inside the TLS handshake (an
 * OpenSSL verify callback installed through libcurl), so a server with
 * another certificate is dropped before any request byte, the login's
 * password included, is sent.  A resumed TLS session shows no
 * certificate: sessions are resumed only among the connections of one
 * pool (remote-http.c), whose first handshake passed this same pin, and
 * resuming needs the secret that handshake made.
 */
#ifndef VDL_REMOTE_PIN_H
#define VDL_REMOTE_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "vixDiskLib.h"

#define VDL_SHA1_LEN 20
#define VDL_SHA256_LEN 32
/* "XX:XX:...", the way vSphere and openssl print fingerprints. */
#define VDL_FP_TEXT (VDL_SHA256_LEN * 3)

struct vdl_pin {
  unsigned char digest[VDL_SHA256_LEN];
  size_t len;                   /* VDL_SHA1_LEN or VDL_SHA256_LEN; 0 when
                                 * the thumbprint given was no fingerprint
                                 * (then nothing matches) */
  char given[80];               /* that thumbprint, for the message */
};

/* What the handshake of one connection saw; one per curl handle. */
struct vdl_pin_check {
  const struct vdl_pin *pin;
  bool mismatch;                /* the handshake was refused by the pin */
  bool cleanse;                 /* new connections cleanse their plaintext */
  char seen_sha1[VDL_FP_TEXT];  /* the server's real fingerprints */
  char seen_sha256[VDL_FP_TEXT];
};

/* Parse a thumbprint (SHA-1 or SHA-256 in hex, any case, colons
 * optional); host is for the message.  Fails only when none is given;
 * anything else that is not a fingerprint matches no server. */
VixError vdl_pin_parse (const char *thumbprint, const char *host,
                        struct vdl_pin *pin);

/* Format a digest as "XX:XX:..." into out (VDL_FP_TEXT bytes). */
void vdl_pin_format (const unsigned char *digest, size_t len, char *out);

/* Make every TLS connection of curl handle h check its peer against
 * check->pin and nothing else.  Fails if libcurl does not use OpenSSL
 * (then the pin could not be enforced). */
VixError vdl_pin_install (CURL *h, struct vdl_pin_check *check,
                          const char *host);

#endif
