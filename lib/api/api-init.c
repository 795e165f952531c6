/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Init/InitEx/Exit. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "api.h"
#include "async.h"
#include "disk.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "vixDiskLib.h"

API VixError
VixDiskLib_InitEx (uint32_t majorVersion, uint32_t minorVersion,
                   VixDiskLibGenericLogFunc *log,
                   VixDiskLibGenericLogFunc *warn,
                   VixDiskLibGenericLogFunc *panic,
                   const char *libDir, const char *configFile)
{
  vdl_log_set (log, warn, panic);
  vdl_debug ("VixDiskLib: open VixDiskLib initialised (API %u.%u, libDir %s)",
             majorVersion, minorVersion, libDir ? libDir : "(none)");
  /* Of VMware's settings only the NFC time-outs apply (to https). */
  return vdl_config_load (configFile);
}

API VixError
VixDiskLib_Init (uint32_t majorVersion, uint32_t minorVersion,
                 VixDiskLibGenericLogFunc *log,
                 VixDiskLibGenericLogFunc *warn,
                 VixDiskLibGenericLogFunc *panic, const char *libDir)
{
  return VixDiskLib_InitEx (majorVersion, minorVersion, log, warn, panic,
                            libDir, NULL);
}

API void
VixDiskLib_Exit (void)
{
  vdl_async_shutdown ();
  vdl_disk_flush_all (false);
  vdl_log_set (NULL, NULL, NULL);     /* no callbacks after Exit */
}

API char *
VixDiskLib_GetErrorText (VixError err, const char *locale)
{
  (void) locale;
  return vdl_error_text (err);
}

API void
VixDiskLib_FreeErrorText (char *errMsg)
{
  free (errMsg);
}
