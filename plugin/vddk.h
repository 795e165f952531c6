/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: declarations shared by the plugin's source files. */

#ifndef NBDKIT_VDDK_H
#define NBDKIT_VDDK_H

#include <stdbool.h>
#include <stdint.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "vixDiskLib.h"

#define UNUSED __attribute__ ((__unused__))

#define SECTOR_SIZE VIXDISKLIB_SECTOR_SIZE
#define CHUNK_SECTORS VIXDISKLIB_MIN_CHUNK_SIZE
#define CHUNK_BYTES (CHUNK_SECTORS * SECTOR_SIZE)

/* ---- The library (load.c) ---- */

/* One pointer per function in stubs.h, typed from our public header so
 * that a mismatch with the ABI is a compile error.
 */
struct vddk_api {
#define STUB(fn) __typeof__ (VixDiskLib_##fn) *fn;
#define OPTIONAL_STUB(fn) STUB (fn)
#include "stubs.h"
#undef STUB
#undef OPTIONAL_STUB
};
extern struct vddk_api vix;
/* OpenVixDiskLib_GetPreferredIOSize: only in the open library, where it
 * is thread-safe; NULL with VMware's. */
extern VixError (*vix_preferred_io_size) (VixDiskLibHandle, uint32_t *);
/* The library is thread-safe (the open library says so): requests are
 * made from nbdkit's threads, not through a worker per connection.
 * -D vddk.direct=0 keeps the worker, as with VMware's library. */
extern bool direct_calls;
extern NBDKIT_DLL_PUBLIC int vddk_debug_direct;
extern int library_version;         /* 6, 7, 8 or 9; 0 if not loaded */
extern char *library_dir;           /* directory the library came from */

extern int load_library (bool required);
extern bool library_search_path_has (const char *dir);
extern void dump_library (void);

/* ---- Configuration (config.c) ---- */

enum compression_type { NONE = 0, ZLIB, FASTLZ, SKIPZ };

extern char *libdir;                /* libdir=, realpath'd; NULL = default */
extern char *config_file;           /* config= */
extern char *cookie;                /* cookie=, secret memory */
extern bool create;                 /* create= */
extern VixDiskLibAdapterType create_adapter_type; /* create-adapter-type= */
extern uint16_t create_hwversion;   /* create-hwversion= */
extern uint64_t create_size;        /* create-size=, bytes */
extern VixDiskLibDiskType create_type; /* create-type= */
extern const char *filename;        /* file= */
extern uint16_t nfc_host_port;      /* nfchostport= */
extern char *password;              /* password=, secret memory */
extern uint16_t port;               /* port= */
extern const char *server_name;     /* server= */
extern bool single_link;            /* single-link= */
extern const char *snapshot_moref;  /* snapshot= */
extern const char *thumb_print;     /* thumbprint= */
extern const char *transport_modes; /* transports= */
extern bool unbuffered;             /* unbuffered= */
extern const char *username;        /* user= */
extern const char *vmx_spec;        /* vm= */
extern enum compression_type compression; /* compression= */
extern bool is_remote;              /* computed by config_complete */

static inline const char *
get_libdir (void)
{
  return libdir ? libdir : VDDK_LIBDIR;
}

extern int vddk_config (const char *key, const char *value);
extern int vddk_config_complete (void);
extern void free_config (void);
#define VDDK_CONFIG_HELP \
  "[file=]<FILENAME>   (required) The filename (eg. VMDK file) to serve.\n" \
  "Many optional parameters are supported, see nbdkit-vddk-plugin(1)."

/* ---- The password and the cookie (secret.c) ---- */

/* Read the secret given as key=value: "-" asks at the terminal
 * (password only), "-FD" reads file descriptor FD (for the cookie only
 * if FD is all digits), "+FILE" reads FILE; anything else is the secret
 * itself, which is then blanked out in nbdkit's command line.  Only the
 * first line counts.  The result is in pages left out of core dumps;
 * free it with secret_free, which zeroes it. */
extern int read_secret (const char *key, const char *value, char **secret);
extern char *secret_strdup (const char *s);
extern void secret_free (char *s);

/* ---- Re-exec with LD_LIBRARY_PATH (reexec.c) ---- */

extern bool noreexec;               /* hidden noreexec= */
extern char *reexeced;              /* internal reexeced_= */
extern void reexec_if_needed (const char *dir);
extern int restore_ld_library_path (void);
extern char *old_socket_dir;         /* internal reexec_tmpdir_= */

/* ---- Lifecycle callbacks (init.c) ---- */

extern int vddk_get_ready (void);
extern int vddk_after_fork (void);
extern void vddk_unload (void);
extern void vddk_dump_plugin (void);

/* ---- Debug flags (-D vddk.<flag>=N) ---- */

extern NBDKIT_DLL_PUBLIC int vddk_debug_diskinfo;
extern NBDKIT_DLL_PUBLIC int vddk_debug_extents;
extern NBDKIT_DLL_PUBLIC int vddk_debug_datapath;
extern NBDKIT_DLL_PUBLIC int vddk_debug_stats;

/* ---- Statistics (stats.c) ---- */

enum vddk_stat_id {
#define STUB(fn) STAT_##fn,
#define OPTIONAL_STUB(fn) STUB (fn)
#include "stubs.h"
#undef STUB
#undef OPTIONAL_STUB
  STAT_COUNT
};

extern void stats_start (struct timespec *t0);
extern void stats_record (enum vddk_stat_id id, const struct timespec *t0,
                          uint64_t bytes);
extern void display_stats (void);

/* Wrap every library call: a "VDDK call:" debug line, then timing for
 * the stats.  Use as VDDK_CALL_START (...) stmt; VDDK_CALL_END (...);
 * The DATAPATH variant is silenced by -D vddk.datapath=0.
 */
#define VDDK_CALL_START_(log, fn, fmt, ...)                             \
  do {                                                                  \
    struct timespec vddk_call_t0_;                                      \
    log ("VDDK call: VixDiskLib_" #fn " (" fmt ")", ##__VA_ARGS__);     \
    stats_start (&vddk_call_t0_);
/* Calls whose arguments are numbers and handles. */
#define VDDK_CALL_START(fn, fmt, ...) \
  VDDK_CALL_START_ (nbdkit_debug, fn, fmt, ##__VA_ARGS__)
/* Calls with a file name or another string among their arguments:
 * escaped (vddk_debug below), at the cost of formatting the line even
 * when nbdkit does not print it. */
#define VDDK_NAMED_CALL_START(fn, fmt, ...) \
  VDDK_CALL_START_ (vddk_debug, fn, fmt, ##__VA_ARGS__)
#define VDDK_DATAPATH_LOG_(...) \
  do { if (vddk_debug_datapath) nbdkit_debug (__VA_ARGS__); } while (0)
#define VDDK_DATAPATH_CALL_START(fn, fmt, ...) \
  VDDK_CALL_START_ (VDDK_DATAPATH_LOG_, fn, fmt, ##__VA_ARGS__)
#define VDDK_CALL_END(fn, bytes)                                        \
    stats_record (STAT_##fn, &vddk_call_t0_, (bytes));                  \
  } while (0)

/* ---- Library log output and error text (log.c) ---- */

extern __thread bool error_suppression;
extern VixDiskLibGenericLogFunc debug_function, warning_function,
  error_function;

/* Messages that may hold a name from the user, the disk or the server
 * (file names, paths, the library's error texts) go through these:
 * nbdkit_error and nbdkit_debug of the text with its control characters
 * escaped (newline, tab and carriage return as \n, \t, \r, other bytes
 * below 0x20, 0x7f, C1 controls and bytes that are not UTF-8 as \xNN),
 * so that a name cannot start a log line of its own or send escape
 * sequences to a terminal.  Text without control characters is
 * unchanged (common/escape.h). */
extern void vddk_error (const char *fs, ...)
  __attribute__ ((__format__ (__printf__, 1, 2)));
extern void vddk_debug (const char *fs, ...)
  __attribute__ ((__format__ (__printf__, 1, 2)));
/* "nbdkit: vddk: warning: ..." on standard error (nbdkit has no warning
 * level of its own). */
extern void vddk_warning (const char *fs, ...)
  __attribute__ ((__format__ (__printf__, 1, 2)));
extern char *vddk_error_text (VixError err);
extern void vddk_free_error_text (char *text);
extern int vix_errno (VixError err);

/* vddk_error ("<context>: <library's text for err>"). */
#define VDDK_ERROR(err, fs, ...)                                        \
  do {                                                                  \
    char *vddk_err_text_ = vddk_error_text (err);                       \
    vddk_error (fs ": %s", ##__VA_ARGS__,                               \
                vddk_err_text_ ? vddk_err_text_ : "unknown error");     \
    vddk_free_error_text (vddk_err_text_);                              \
  } while (0)

/* ---- Per-connection worker (worker.c, extents.c) ---- */

enum command_type { INFO, READ, WRITE, FLUSH, CAN_EXTENTS, EXTENTS, STOP };
enum command_status { SUBMITTED, SUCCEEDED, FAILED };

/* A request from an nbdkit thread to the worker.  It lives on the
 * requester's stack until send_command_and_wait returns.
 */
struct command {
  struct command *next;         /* queue link */
  enum command_type type;
  uint64_t id;                  /* serial number within the connection */
  void *ptr;                    /* buffer, VixDiskLibInfo **, or extents */
  uint32_t count;
  uint64_t offset;
  bool req_one;                 /* EXTENTS: NBDKIT_FLAG_REQ_ONE */
  int result;                   /* CAN_EXTENTS: 0 or 1 */

  /* Completion, protected by mutex.  The requester waits until the
   * worker has let go of the command (worker_done) and the outcome is
   * known (status), which for asynchronous I/O is set by the library's
   * callback, possibly on another thread and possibly before the
   * ReadAsync/WriteAsync call has even returned.
   */
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  enum command_status status;
  bool worker_done;
  VixError err;                 /* failing library call, or VIX_OK */
  char *text;                   /* its text, fetched where it failed */
  const char *what;             /* context of err; NULL = async completion */
  const char *msg;              /* error message not from the library */
  int errnum;                   /* errno to report, 0 = derive from err */
};

struct vddk_handle {
  VixDiskLibConnectParams *params;
  VixDiskLibConnection connection;
  VixDiskLibHandle handle;

  pthread_t thread;
  pthread_mutex_t commands_lock;  /* protects the queue and next_id */
  pthread_cond_t commands_cond;   /* signalled when the queue fills */
  struct command *head, *tail;
  uint64_t next_id;

  uint64_t capacity;              /* sectors, from GetInfo (atomic) */
  bool readonly;                  /* opened read-only */
};

extern int start_worker (struct vddk_handle *h);
extern int send_command_and_wait (struct vddk_handle *h, struct command *cmd);
extern void command_fail (struct command *cmd, VixError err, const char *what,
                          int errnum, const char *msg);
extern void do_can_extents (struct command *cmd, struct vddk_handle *h);
extern bool do_extents (struct command *cmd, struct vddk_handle *h);

#endif /* NBDKIT_VDDK_H */
