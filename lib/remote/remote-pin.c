/* SPDX-License-Identifier: BSD-3-Clause */
/* Thumbprint pinning inside the TLS handshake (see remote-pin.h). */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "remote-pin.h"

VixError
vdl_pin_parse (const char *thumbprint, const char *host, struct vdl_pin *pin)
{
  size_t n = 0;
  const char *p;
  int hi = -1, v;

  if (!thumbprint || !thumbprint[0])
    return vdl_error (VIX_E_INVALID_ARG,
                      "no thumbprint given for %s: refusing to connect, "
                      "as nothing else could prove the server is %s "
                      "(the thumbprint is the SHA-1 fingerprint of its "
                      "certificate)", host, host);
  for (p = thumbprint; *p; p++) {
    if (*p == ':')
      continue;
    if (!isxdigit ((unsigned char) *p) || n == sizeof pin->digest)
      goto bad;
    v = isdigit ((unsigned char) *p) ? *p - '0'
      : tolower ((unsigned char) *p) - 'a' + 10;
    if (hi < 0)
      hi = v;
    else {
      pin->digest[n++] = hi << 4 | v;
      hi = -1;
    }
  }
  if (hi >= 0 || (n != VDL_SHA1_LEN && n != VDL_SHA256_LEN))
    goto bad;
  pin->len = n;
  return VIX_OK;

 bad:
  /* Not a fingerprint: it matches no certificate, and the refused
   * handshake then names the server's real one, as users of the
   * "thumbprint=12" trick expect. */
  (void) host;
  pin->len = 0;
  snprintf (pin->given, sizeof pin->given, "%s", thumbprint);
  return VIX_OK;
}

void
vdl_pin_format (const unsigned char *digest, size_t len, char *out)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i;

  for (i = 0; i < len; i++) {
    out[3 * i] = hex[digest[i] >> 4];
    out[3 * i + 1] = hex[digest[i] & 15];
    out[3 * i + 2] = i + 1 < len ? ':' : '\0';
  }
  if (len == 0)
    out[0] = '\0';
}

/* Where our check hangs on the SSL_CTX curl makes for each connection. */
static int ctx_index = -1;
static pthread_once_t ctx_index_once = PTHREAD_ONCE_INIT;

static void
make_ctx_index (void)
{
  ctx_index = SSL_CTX_get_ex_new_index (0, NULL, NULL, NULL, NULL);
}

/* Called by OpenSSL for each problem it finds with the chain (and for
 * each certificate once the chain is built).  Whatever it found (self
 * signed, unknown CA, weak key), the one question is whether the leaf
 * is the pinned certificate. */
static int
verify (int preverify_ok, X509_STORE_CTX *store)
{
  int idx = SSL_get_ex_data_X509_STORE_CTX_idx ();
  SSL *ssl = X509_STORE_CTX_get_ex_data (store, idx);
  struct vdl_pin_check *check;
  X509 *leaf = X509_STORE_CTX_get0_cert (store);
  unsigned char sha1[EVP_MAX_MD_SIZE], sha256[EVP_MAX_MD_SIZE];
  unsigned n1 = 0, n256 = 0;
  const unsigned char *mine;

  (void) preverify_ok;
  if (!ssl || !leaf)
    return 0;
  check = SSL_CTX_get_ex_data (SSL_get_SSL_CTX (ssl), ctx_index);
  if (!check || !check->pin)
    return 0;
  if (!X509_digest (leaf, EVP_sha1 (), sha1, &n1) ||
      !X509_digest (leaf, EVP_sha256 (), sha256, &n256))
    return 0;
  mine = check->pin->len == VDL_SHA1_LEN ? sha1 : sha256;
  if (check->pin->len != 0 &&
      memcmp (mine, check->pin->digest, check->pin->len) == 0)
    return 1;
  check->mismatch = true;
  vdl_pin_format (sha1, n1, check->seen_sha1);
  vdl_pin_format (sha256, n256, check->seen_sha256);
  X509_STORE_CTX_set_error (store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

static CURLcode
setup_ctx (CURL *h, void *ssl_ctx, void *data)
{
  SSL_CTX *ctx = ssl_ctx;

  (void) h;
  if (ctx_index < 0 || !SSL_CTX_set_ex_data (ctx, ctx_index, data))
    return CURLE_SSL_CERTPROBLEM;
  /* The security level stays: a pinned certificate with a key it calls
   * too weak (the simulator's RSA-1024) is only a verify error, which
   * the pin overrides; the handshake itself keeps its strength. */
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, verify);
  /* libcurl turns session tickets off, leaving TLS 1.2 resumption to
   * session IDs, which servers need not keep (Go's, the simulator, does
   * not): with tickets, the pool's next connections resume
   * (remote-http.c). */
  SSL_CTX_clear_options (ctx, SSL_OP_NO_TICKET);
#ifdef SSL_OP_CLEANSE_PLAINTEXT
  /* OpenSSL 3: records are decrypted in place, and the plaintext
   * (Set-Cookie headers, the Login answer) would stay in the read
   * buffer after libcurl has copied it out.  Requests need nothing:
   * they are encrypted in place in the write buffer.  Only for
   * connections made for a secret: cleansing every record of a data
   * transfer cost 5-10 % of a remote copy. */
  if (((struct vdl_pin_check *) data)->cleanse)
    SSL_CTX_set_options (ctx, SSL_OP_CLEANSE_PLAINTEXT);
#endif
  return CURLE_OK;
}

VixError
vdl_pin_install (CURL *h, struct vdl_pin_check *check, const char *host)
{
  pthread_once (&ctx_index_once, make_ctx_index);
  /* curl's own CA and host name checks would refuse the self-signed
   * certificates ESXi has; the pin replaces them. */
  if (ctx_index < 0 ||
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK ||
      curl_easy_setopt (h, CURLOPT_SSL_CTX_FUNCTION, setup_ctx) != CURLE_OK ||
      curl_easy_setopt (h, CURLOPT_SSL_CTX_DATA, check) != CURLE_OK ||
      curl_easy_setopt (h, CURLOPT_SSLVERSION,
                        (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
    return vdl_error (VIX_E_NOT_SUPPORTED,
                      "cannot connect to %s: this libcurl does not use "
                      "OpenSSL, so the server's thumbprint cannot be "
                      "checked", host);
  return VIX_OK;
}
