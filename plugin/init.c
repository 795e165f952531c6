/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: start-up and shut-down of the library. */

#include <stdio.h>
#include <stdlib.h>

#include "vddk.h"

static bool initialized;

/* Before nbdkit binds, forks or daemonizes: load the library (exits
 * on failure) and, if needed, re-exec with LD_LIBRARY_PATH.
 */
int
vddk_get_ready (void)
{
  load_library (true);
  reexec_if_needed (library_dir);
  return 0;
}

/* InitEx starts background threads, which a fork would lose, so it
 * waits until nbdkit has forked into the background.
 */
int
vddk_after_fork (void)
{
  VixError err;

  /* The trace names the callbacks as the reference plugin's does (its
   * warn and panic callbacks are both error_fn); ours sends warnings
   * out as warnings, not errors. */
  VDDK_NAMED_CALL_START (InitEx,
                         "6, 5, &debug_fn, &error_fn, &error_fn, %s, %s",
                         get_libdir (), config_file ? config_file : "NULL");
  err = vix.InitEx (6, 5, &debug_function, &warning_function,
                    &error_function, get_libdir (), config_file);
  VDDK_CALL_END (InitEx, 0);
  if (err != VIX_OK) {
    VDDK_ERROR (err, "VixDiskLib_InitEx");
    exit (EXIT_FAILURE);
  }
  initialized = true;
  return 0;
}

void
vddk_unload (void)
{
  if (initialized) {
    VDDK_CALL_START (Exit, "");
    vix.Exit ();
    VDDK_CALL_END (Exit, 0);
    initialized = false;
  }
  /* The library is not dlclose'd: VDDK does not survive it. */

  if (vddk_debug_stats)
    display_stats ();

  free (library_dir);
  library_dir = NULL;
  free_config ();
}

void
vddk_dump_plugin (void)
{
  printf ("vddk_default_libdir=%s\n", VDDK_LIBDIR);
  printf ("vddk_has_nfchostport=1\n");
  dump_library ();
}
