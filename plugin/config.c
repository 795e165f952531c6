/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: command line parameters. */

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vddk.h"

char *libdir;
char *config_file;
char *cookie;
bool create;
VixDiskLibAdapterType create_adapter_type = VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
uint16_t create_hwversion = VIXDISKLIB_HWVERSION_WORKSTATION_5;
uint64_t create_size;
VixDiskLibDiskType create_type = VIXDISKLIB_DISK_MONOLITHIC_SPARSE;
const char *filename;
static char *abs_filename;          /* filename made absolute, if it was not */
uint16_t nfc_host_port;
char *password;
uint16_t port;
const char *server_name;
bool single_link;
const char *snapshot_moref;
const char *thumb_print;
const char *transport_modes;
bool unbuffered;
const char *username;
const char *vmx_spec;
enum compression_type compression = NONE;
bool is_remote;

struct name_value {
  const char *name;
  int value;
};

static const struct name_value compression_names[] = {
  { "zlib", ZLIB }, { "fastlz", FASTLZ }, { "skipz", SKIPZ },
  { "none", NONE }, { NULL, 0 }
};

static const struct name_value adapter_names[] = {
  { "ide", VIXDISKLIB_ADAPTER_IDE },
  { "scsi-buslogic", VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC },
  { "scsi-lsilogic", VIXDISKLIB_ADAPTER_SCSI_LSILOGIC },
  { NULL, 0 }
};

static const struct name_value hwversion_names[] = {
  { "workstation4", VIXDISKLIB_HWVERSION_WORKSTATION_4 },
  { "workstation5", VIXDISKLIB_HWVERSION_WORKSTATION_5 },
  { "workstation6", VIXDISKLIB_HWVERSION_WORKSTATION_6 },
  { "esx30", VIXDISKLIB_HWVERSION_ESX30 },
  { "esx4x", VIXDISKLIB_HWVERSION_ESX4X },
  { "esx50", VIXDISKLIB_HWVERSION_ESX50 },
  { "esx51", VIXDISKLIB_HWVERSION_ESX51 },
  { "esx55", VIXDISKLIB_HWVERSION_ESX55 },
  { "esx60", VIXDISKLIB_HWVERSION_ESX60 },
  { "esx65", VIXDISKLIB_HWVERSION_ESX65 },
  { NULL, 0 }
};

static const struct name_value disk_type_names[] = {
  { "monolithic-sparse", VIXDISKLIB_DISK_MONOLITHIC_SPARSE },
  { "monolithic-flat", VIXDISKLIB_DISK_MONOLITHIC_FLAT },
  { "split-sparse", VIXDISKLIB_DISK_SPLIT_SPARSE },
  { "split-flat", VIXDISKLIB_DISK_SPLIT_FLAT },
  { "vmfs-flat", VIXDISKLIB_DISK_VMFS_FLAT },
  { "stream-optimized", VIXDISKLIB_DISK_STREAM_OPTIMIZED },
  { "vmfs-thin", VIXDISKLIB_DISK_VMFS_THIN },
  { "vmfs-sparse", VIXDISKLIB_DISK_VMFS_SPARSE },
  { NULL, 0 }
};

/* The createType a VMDK descriptor holds for each, which VMware's own
 * tools print: accepted too, in any case. */
static const struct name_value create_type_names[] = {
  { "monolithicSparse", VIXDISKLIB_DISK_MONOLITHIC_SPARSE },
  { "monolithicFlat", VIXDISKLIB_DISK_MONOLITHIC_FLAT },
  { "twoGbMaxExtentSparse", VIXDISKLIB_DISK_SPLIT_SPARSE },
  { "twoGbMaxExtentFlat", VIXDISKLIB_DISK_SPLIT_FLAT },
  { "vmfs", VIXDISKLIB_DISK_VMFS_FLAT },
  { "streamOptimized", VIXDISKLIB_DISK_STREAM_OPTIMIZED },
  { "vmfsThin", VIXDISKLIB_DISK_VMFS_THIN },
  { "vmfsSparse", VIXDISKLIB_DISK_VMFS_SPARSE },
  { NULL, 0 }
};

/* Exact, case-sensitive match, as the reference plugin does. */
static bool
lookup (const struct name_value *table, const char *name, int *value)
{
  for (; table->name; table++) {
    if (strcmp (table->name, name) == 0) {
      *value = table->value;
      return true;
    }
  }
  return false;
}

static int
parse_bool (const char *value, bool *b)
{
  int r = nbdkit_parse_bool (value);

  if (r == -1)
    return -1;
  *b = r;
  return 0;
}

/* A path that must exist; nbdkit changes directory when it daemonizes.
 * nbdkit_realpath would name it in its error unescaped. */
static int
parse_path (const char *value, char **path)
{
  char *p;

  if (value[0] == '\0') {
    nbdkit_error ("cannot resolve a null or empty path");
    return -1;
  }
  p = realpath (value, NULL);
  if (p == NULL) {
    vddk_error ("realpath: %s: %m", value);
    return -1;
  }
  free (*path);
  *path = p;
  return 0;
}

/* VDDK configuration files are small "key = value" text files. */
#define MAX_CONFIG_FILE (1024 * 1024)

static bool
is_key_char (char c)
{
  return isalnum ((unsigned char) c) || (c && strchr ("._-:", c));
}

/* A comment, a blank line or "key = value" (the value maybe quoted).
 * len is the length of line, which may hold NULs. */
static bool
config_line_ok (const char *line, size_t len)
{
  const char *p = line, *v;
  size_t n;

  for (n = 0; n < len; n++)
    if (iscntrl ((unsigned char) line[n]) &&
        !isspace ((unsigned char) line[n]))
      return false;             /* binary data */
  while (isspace ((unsigned char) *p))
    p++;
  if (*p == '\0' || *p == '#')
    return true;
  for (n = 0; is_key_char (p[n]); n++)
    ;
  if (n == 0)
    return false;
  p += n;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != '=')
    return false;
  while (isspace ((unsigned char) *p))
    p++;
  if (*p != '"')
    return true;
  v = strchr (p + 1, '"');      /* a quoted value ends with its quote */
  if (!v)
    return false;
  for (v++; isspace ((unsigned char) *v); v++)
    ;
  return *v == '\0' || *v == '#';
}

/* config= is handed to VixDiskLib_InitEx only after nbdkit has started
 * serving; a wrong file (a directory, the disk itself, a typo'd
 * password file) is better reported now, naming the file and line. */
static int
check_config_file (const char *path)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  struct stat st;
  ssize_t len;
  FILE *fp;
  int r = 0;

  if (fd == -1) {
    vddk_error ("config: cannot read %s: %m", path);
    return -1;
  }
  if (fstat (fd, &st) == -1) {
    vddk_error ("config: cannot stat %s: %m", path);
    close (fd);
    return -1;
  }
  if (!S_ISREG (st.st_mode) || st.st_size > MAX_CONFIG_FILE) {
    vddk_error ("config: %s is %s, not a VDDK configuration file", path,
                S_ISDIR (st.st_mode) ? "a directory"
                : !S_ISREG (st.st_mode) ? "not a regular file"
                : "too large");
    close (fd);
    return -1;
  }
  fp = fdopen (fd, "r");
  if (fp == NULL) {
    vddk_error ("config: %s: fdopen: %m", path);
    close (fd);
    return -1;
  }
  while (r == 0 && (len = getline (&line, &cap, fp)) != -1) {
    const char *start = line;
    lineno++;
    if (lineno == 1 && strncmp (line, "\xef\xbb\xbf", 3) == 0)
      start += 3;               /* a UTF-8 byte order mark */
    if (!config_line_ok (start, len - (start - line))) {
      vddk_error ("config: %s line %u: not a \"key = value\" setting "
                  "or a # comment", path, lineno);
      r = -1;
    }
  }
  if (r == 0 && ferror (fp)) {
    vddk_error ("config: cannot read %s: %m", path);
    r = -1;
  }
  free (line);
  fclose (fp);
  return r;
}

int
vddk_config (const char *key, const char *value)
{
  int v;

  if (strcmp (key, "compression") == 0) {
    if (!lookup (compression_names, value, &v)) {
      vddk_error ("unknown compression type: %s", value);
      return -1;
    }
    compression = v;
  }
  else if (strcmp (key, "config") == 0) {
    if (parse_path (value, &config_file) == -1)
      return -1;
    return check_config_file (config_file);
  }
  else if (strcmp (key, "cookie") == 0) {
    /* cookie=+FILE or -FD keeps the session cookie, as secret as a
     * password, out of the process list and of nbdkit's own -v
     * output. */
    secret_free (cookie);
    cookie = NULL;
    return read_secret (key, value, &cookie);
  }
  else if (strcmp (key, "create") == 0)
    return parse_bool (value, &create);
  else if (strcmp (key, "create-adapter-type") == 0) {
    if (!lookup (adapter_names, value, &v)) {
      vddk_error ("unknown create-adapter-type: %s", value);
      return -1;
    }
    create_adapter_type = v;
  }
  else if (strcmp (key, "create-hwversion") == 0) {
    if (lookup (hwversion_names, value, &v))
      create_hwversion = v;
    else if (nbdkit_parse_uint16_t ("create-hwversion", value,
                                    &create_hwversion) == -1) {
      vddk_error ("unknown create-hwversion: %s", value);
      return -1;
    }
  }
  else if (strcmp (key, "create-size") == 0) {
    int64_t size = nbdkit_parse_size (value);

    if (size == -1)
      return -1;
    if (size <= 0 || size % SECTOR_SIZE != 0) {
      nbdkit_error ("create-size must be greater than zero "
                    "and a multiple of 512");
      return -1;
    }
    create_size = size;
  }
  else if (strcmp (key, "create-type") == 0) {
    const struct name_value *t;

    for (t = create_type_names; t->name; t++)
      if (strcasecmp (t->name, value) == 0)
        break;
    if (t->name)
      v = t->value;
    else if (!lookup (disk_type_names, value, &v)) {
      vddk_error ("unknown create-type: %s (monolithic-sparse, "
                  "monolithic-flat, split-sparse, split-flat, vmfs-flat, "
                  "stream-optimized, vmfs-thin, vmfs-sparse, or the "
                  "createType of a VMDK descriptor: monolithicSparse, "
                  "monolithicFlat, twoGbMaxExtentSparse, "
                  "twoGbMaxExtentFlat, vmfs, streamOptimized, vmfsThin, "
                  "vmfsSparse)", value);
      return -1;
    }
    create_type = v;
  }
  else if (strcmp (key, "file") == 0)
    /* Made absolute in config_complete, once we know it is local. */
    filename = value;
  else if (strcmp (key, "libdir") == 0)
    return parse_path (value, &libdir);
  else if (strcmp (key, "nfchostport") == 0)
    return nbdkit_parse_uint16_t ("nfchostport", value, &nfc_host_port);
  else if (strcmp (key, "noreexec") == 0)
    return parse_bool (value, &noreexec);
  else if (strcmp (key, "password") == 0) {
    secret_free (password);
    password = NULL;
    return read_secret (key, value, &password);
  }
  else if (strcmp (key, "port") == 0)
    return nbdkit_parse_uint16_t ("port", value, &port);
  else if (strcmp (key, "reexec_tmpdir_") == 0) {
    free (old_socket_dir);
    if ((old_socket_dir = strdup (value)) == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
  }
  else if (strcmp (key, "reexeced_") == 0) {
    free (reexeced);
    reexeced = strdup (value);
    if (reexeced == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
  }
  else if (strcmp (key, "server") == 0)
    server_name = value;
  else if (strcmp (key, "single-link") == 0)
    return parse_bool (value, &single_link);
  else if (strcmp (key, "snapshot") == 0)
    snapshot_moref = value;
  else if (strcmp (key, "thumbprint") == 0)
    thumb_print = value;
  else if (strcmp (key, "transports") == 0)
    transport_modes = value;
  else if (strcmp (key, "unbuffered") == 0)
    return parse_bool (value, &unbuffered);
  else if (strcmp (key, "user") == 0)
    username = value;
  else if (strcmp (key, "vm") == 0)
    vmx_spec = value;
  else if (strcmp (key, "vimapiver") == 0)
    /* Ignored: kept so that old command lines still work. */ ;
  else {
    vddk_error ("unknown parameter '%s'", key);
    return -1;
  }

  return 0;
}

/* nbdkit changes to / when it daemonizes, so a local file named relative
 * to the directory it started in must be made absolute now.  Not
 * realpath: the file may not exist yet (create=true), and extents are
 * found beside the name as given, which may be a symlink.  Remote names
 * ("[datastore] path") are the server's and stay as they are. */
static int
make_filename_absolute (void)
{
  const char *rel = filename;
  char *cwd;

  if (is_remote || filename[0] == '/')
    return 0;
  while (strncmp (rel, "./", 2) == 0)
    rel += 2;
  cwd = get_current_dir_name ();
  if (cwd == NULL) {
    vddk_error ("cannot make %s absolute: getcwd: %m", filename);
    return -1;
  }
  free (abs_filename);
  if (asprintf (&abs_filename, "%s%s%s", cwd,
                strcmp (cwd, "/") == 0 ? "" : "/", rel) == -1) {
    abs_filename = NULL;
    free (cwd);
    nbdkit_error ("asprintf: %m");
    return -1;
  }
  free (cwd);
  filename = abs_filename;
  return 0;
}

int
vddk_config_complete (void)
{
  if (filename == NULL) {
    nbdkit_error ("you must supply the file=<FILENAME> parameter "
                  "after the plugin name on the command line");
    return -1;
  }

  /* port=0 does not count: it means "the library's default". */
  is_remote =
    vmx_spec || server_name || username || password || cookie ||
    thumb_print || port != 0 || nfc_host_port != 0;

  if (is_remote) {
#define REQUIRE(var, name)                                              \
    if (var == NULL) {                                                  \
      nbdkit_error ("remote connection requested, missing parameter: %s", \
                    name);                                              \
      return -1;                                                        \
    }
    REQUIRE (server_name, "server");
    REQUIRE (username, "user");
    REQUIRE (password, "password");
    REQUIRE (vmx_spec, "vm");
#undef REQUIRE
  }

  if (make_filename_absolute () == -1)
    return -1;

  if (create) {
    if (is_remote) {
      nbdkit_error ("create=true can only be used to create local VMDK files");
      return -1;
    }
    if (create_size == 0) {
      nbdkit_error ("if using create=true you must specify the size "
                    "using the create-size parameter");
      return -1;
    }
  }

  /* In a re-exec'd nbdkit, give --run children the environment the
   * user started with.
   */
  return restore_ld_library_path ();
}

void
free_config (void)
{
  free (libdir);
  free (config_file);
  secret_free (password);
  secret_free (cookie);
  free (reexeced);
  free (abs_filename);
  libdir = config_file = password = cookie = reexeced = abs_filename = NULL;
}
