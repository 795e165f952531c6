/* SPDX-License-Identifier: BSD-3-Clause */
/* Open VixDiskLib: public C interface.
 *
 * This header describes the binary interface of VMware's libvixDiskLib.so
 * (VDDK 6.5 to 9) for x86_64: the same function names, argument types,
 * struct layouts and constant values.  Programs compiled against it work
 * with this project's free library and with VMware's proprietary one.
 *
 * The layouts are checked at compile time in lib/abi-check.c.
 */

#ifndef VIXDISKLIB_H
#define VIXDISKLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors.  The low 16 bits carry the code; VMware may set upper bits. */

typedef uint64_t VixError;

#define VIX_ERROR_CODE(err)   ((err) & 0xFFFF)
#define VIX_SUCCEEDED(err)    (VIX_OK == (err))
#define VIX_FAILED(err)       (VIX_OK != (err))

#define VIX_OK                              0
#define VIX_E_FAIL                          1
#define VIX_E_OUT_OF_MEMORY                 2
#define VIX_E_INVALID_ARG                   3
#define VIX_E_FILE_NOT_FOUND                4
#define VIX_E_OBJECT_IS_BUSY                5
#define VIX_E_NOT_SUPPORTED                 6
#define VIX_E_FILE_ERROR                    7
#define VIX_E_DISK_FULL                     8
#define VIX_E_INCORRECT_FILE_TYPE           9
#define VIX_E_CANCELLED                     10
#define VIX_E_FILE_READ_ONLY                11
#define VIX_E_FILE_ALREADY_EXISTS           12
#define VIX_E_FILE_ACCESS_ERROR             13
#define VIX_E_REQUIRES_LARGE_FILES          14
#define VIX_E_FILE_ALREADY_LOCKED           15
#define VIX_E_FILE_TOO_BIG                  21
#define VIX_E_FILE_NAME_INVALID             22
#define VIX_E_ALREADY_EXISTS                23
#define VIX_E_BUFFER_TOOSMALL               24
#define VIX_E_OBJECT_NOT_FOUND              25
#define VIX_E_HOST_NOT_CONNECTED            26
#define VIX_E_INVALID_HANDLE                1000
#define VIX_E_DISK_INVAL                    16000
#define VIX_E_DISK_NOINIT                   16001
#define VIX_E_DISK_NOIO                     16002
#define VIX_E_DISK_PARTIALCHAIN             16003
#define VIX_E_DISK_NEEDSREPAIR              16006
#define VIX_E_DISK_OUTOFRANGE               16007
#define VIX_E_DISK_CID_MISMATCH             16008
#define VIX_E_DISK_CANTSHRINK               16009
#define VIX_E_DISK_UNSUPPORTEDDISKVERSION   16011
#define VIX_E_DISK_OPENPARENT               16012
#define VIX_E_DISK_NOTSUPPORTED             16013
#define VIX_E_DISK_INVALIDCHAIN             16030
#define VIX_E_DISK_KEY_NOTFOUND             16052
#define VIX_E_DISK_CANTREPAIR               16062
#define VIX_E_DISK_CAPACITY_MISMATCH        16067
#define VIX_E_DISK_PARENT_NOTALLOWED        16068
#define VIX_E_DISK_ATTACH_ROOTLINK          16069
#define VIX_ASYNC                           25000

/* ------------------------------------------------------------------ */
/* Constants. */

#define VIXDISKLIB_FLAG_OPEN_UNBUFFERED          (1 << 0)
#define VIXDISKLIB_FLAG_OPEN_SINGLE_LINK         (1 << 1)
#define VIXDISKLIB_FLAG_OPEN_READ_ONLY           (1 << 2)
#define VIXDISKLIB_FLAG_OPEN_COMPRESSION_ZLIB    (1 << 4)
#define VIXDISKLIB_FLAG_OPEN_COMPRESSION_FASTLZ  (1 << 5)
#define VIXDISKLIB_FLAG_OPEN_COMPRESSION_SKIPZ   (1 << 6)
#define VIXDISKLIB_FLAG_OPEN_COMPRESSION_MASK    (7 << 4)

#define VIXDISKLIB_SECTOR_SIZE       512
#define VIXDISKLIB_MIN_CHUNK_SIZE    128           /* sectors (64 KiB) */
#define VIXDISKLIB_MAX_CHUNK_NUMBER  (512 * 1024)

#define VIXDISKLIB_HWVERSION_WORKSTATION_4  3
#define VIXDISKLIB_HWVERSION_WORKSTATION_5  4
#define VIXDISKLIB_HWVERSION_WORKSTATION_6  6
#define VIXDISKLIB_HWVERSION_ESX30          4
#define VIXDISKLIB_HWVERSION_ESX4X          7
#define VIXDISKLIB_HWVERSION_ESX50          8
#define VIXDISKLIB_HWVERSION_ESX51          9
#define VIXDISKLIB_HWVERSION_ESX55          10
#define VIXDISKLIB_HWVERSION_ESX60          11
#define VIXDISKLIB_HWVERSION_ESX65          13
#define VIXDISKLIB_HWVERSION_CURRENT        VIXDISKLIB_HWVERSION_ESX65

typedef enum {
  VIXDISKLIB_DISK_MONOLITHIC_SPARSE = 1,
  VIXDISKLIB_DISK_MONOLITHIC_FLAT   = 2,
  VIXDISKLIB_DISK_SPLIT_SPARSE      = 3,
  VIXDISKLIB_DISK_SPLIT_FLAT        = 4,
  VIXDISKLIB_DISK_VMFS_FLAT         = 5,
  VIXDISKLIB_DISK_STREAM_OPTIMIZED  = 6,
  VIXDISKLIB_DISK_VMFS_THIN         = 7,
  VIXDISKLIB_DISK_VMFS_SPARSE       = 8,
  VIXDISKLIB_DISK_UNKNOWN           = 256
} VixDiskLibDiskType;

typedef enum {
  VIXDISKLIB_ADAPTER_IDE           = 1,
  VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC = 2,
  VIXDISKLIB_ADAPTER_SCSI_LSILOGIC = 3,
  VIXDISKLIB_ADAPTER_UNKNOWN       = 256
} VixDiskLibAdapterType;

typedef enum {
  VIXDISKLIB_CRED_UID       = 1,
  VIXDISKLIB_CRED_SESSIONID = 2,
  VIXDISKLIB_CRED_TICKETID  = 3,
  VIXDISKLIB_CRED_SSPI      = 4,
  VIXDISKLIB_CRED_UNKNOWN   = 256
} VixDiskLibCredType;

typedef enum {
  VIXDISKLIB_SPEC_VMX              = 0,
  VIXDISKLIB_SPEC_VSTORAGE_OBJECT  = 1,
  VIXDISKLIB_SPEC_UNKNOWN          = 2
} VixDiskLibSpecType;

/* ------------------------------------------------------------------ */
/* Types. */

/* Sector numbers and counts, as VMware's header names them. */
typedef uint64_t VixDiskLibSectorType;

typedef void *VixDiskLibConnection;
typedef void *VixDiskLibHandle;

typedef void VixDiskLibGenericLogFunc (const char *fmt, va_list args);
typedef void (*VixDiskLibCompletionCB) (void *cbData, VixError result);
typedef char (*VixDiskLibProgressFunc) (void *progressData, int percentCompleted);

typedef struct {
  char *userName;
  char *password;
} VixDiskLibUidPasswdCreds;

typedef struct {
  char *cookie;
  char *userName;
  char *key;
} VixDiskLibSessionIdCreds;

typedef struct {
  char *id;
  char *datastoreMoRef;
  char *ssId;
} VixDiskLibVStorageObjectSpec;

typedef struct {
  char *vmxSpec;
  char *serverName;
  char *thumbPrint;
  long reserved1;
  VixDiskLibCredType credType;
  union {
    VixDiskLibUidPasswdCreds uid;
    VixDiskLibSessionIdCreds sessionId;
    void *reserved2;
  } creds;
  uint32_t port;
  uint32_t nfcHostPort;
  char *reserved3;              /* vimApiVer in VDDK <= 6.0 */
  char reserved4[8];
  void *reserved5;
  union {
    VixDiskLibVStorageObjectSpec vStorageObjSpec;
  } spec;
  VixDiskLibSpecType specType;
} VixDiskLibConnectParams;

typedef struct {
  uint32_t cylinders;
  uint32_t heads;
  uint32_t sectors;
} VixDiskLibGeometry;

typedef struct {
  VixDiskLibGeometry biosGeo;
  VixDiskLibGeometry physGeo;
  uint64_t capacity;             /* sectors */
  VixDiskLibAdapterType adapterType;
  int numLinks;
  char *parentFileNameHint;
  char *uuid;
  uint32_t logicalSectorSize;    /* VDDK >= 7.0 */
  uint32_t physicalSectorSize;   /* VDDK >= 7.0 */
} VixDiskLibInfo;

typedef struct {
  VixDiskLibDiskType diskType;
  VixDiskLibAdapterType adapterType;
  uint16_t hwVersion;
  uint64_t capacity;             /* sectors */
  uint32_t logicalSectorSize;
  uint32_t physicalSectorSize;
} VixDiskLibCreateParams;

typedef struct {
  uint64_t offset;               /* sectors */
  uint64_t length;               /* sectors */
} VixDiskLibBlock;

typedef struct {
  uint32_t numBlocks;
  VixDiskLibBlock blocks[1];
} VixDiskLibBlockList;

/* ------------------------------------------------------------------ */
/* Functions. */

VixError VixDiskLib_InitEx (uint32_t majorVersion, uint32_t minorVersion,
                            VixDiskLibGenericLogFunc *log,
                            VixDiskLibGenericLogFunc *warn,
                            VixDiskLibGenericLogFunc *panic,
                            const char *libDir, const char *configFile);
VixError VixDiskLib_Init (uint32_t majorVersion, uint32_t minorVersion,
                          VixDiskLibGenericLogFunc *log,
                          VixDiskLibGenericLogFunc *warn,
                          VixDiskLibGenericLogFunc *panic,
                          const char *libDir);
void VixDiskLib_Exit (void);

char *VixDiskLib_GetErrorText (VixError err, const char *locale);
void VixDiskLib_FreeErrorText (char *errMsg);

VixDiskLibConnectParams *VixDiskLib_AllocateConnectParams (void);
void VixDiskLib_FreeConnectParams (VixDiskLibConnectParams *connectParams);

VixError VixDiskLib_ConnectEx (const VixDiskLibConnectParams *connectParams,
                               char readOnly, const char *snapshotRef,
                               const char *transportModes,
                               VixDiskLibConnection *connection);
VixError VixDiskLib_Connect (const VixDiskLibConnectParams *connectParams,
                             VixDiskLibConnection *connection);
VixError VixDiskLib_Disconnect (VixDiskLibConnection connection);

VixError VixDiskLib_Create (const VixDiskLibConnection connection,
                            const char *path,
                            const VixDiskLibCreateParams *createParams,
                            VixDiskLibProgressFunc progressFunc,
                            void *progressCallbackData);
VixError VixDiskLib_Open (const VixDiskLibConnection connection,
                          const char *path, uint32_t flags,
                          VixDiskLibHandle *diskHandle);
VixError VixDiskLib_Close (VixDiskLibHandle diskHandle);
const char *VixDiskLib_GetTransportMode (VixDiskLibHandle diskHandle);

VixError VixDiskLib_GetInfo (VixDiskLibHandle diskHandle,
                             VixDiskLibInfo **info);
void VixDiskLib_FreeInfo (VixDiskLibInfo *info);

VixError VixDiskLib_Read (VixDiskLibHandle diskHandle, uint64_t startSector,
                          uint64_t numSectors, uint8_t *readBuffer);
VixError VixDiskLib_Write (VixDiskLibHandle diskHandle, uint64_t startSector,
                           uint64_t numSectors, const uint8_t *writeBuffer);
VixError VixDiskLib_ReadAsync (VixDiskLibHandle diskHandle,
                               uint64_t startSector, uint64_t numSectors,
                               uint8_t *readBuffer,
                               VixDiskLibCompletionCB callback,
                               void *cbData);
VixError VixDiskLib_WriteAsync (VixDiskLibHandle diskHandle,
                                uint64_t startSector, uint64_t numSectors,
                                const uint8_t *writeBuffer,
                                VixDiskLibCompletionCB callback,
                                void *cbData);
VixError VixDiskLib_Wait (VixDiskLibHandle diskHandle);
VixError VixDiskLib_Flush (VixDiskLibHandle diskHandle);

VixError VixDiskLib_QueryAllocatedBlocks (VixDiskLibHandle diskHandle,
                                          uint64_t startSector,
                                          uint64_t numSectors,
                                          uint64_t chunkSize,
                                          VixDiskLibBlockList **blockList);
VixError VixDiskLib_FreeBlockList (VixDiskLibBlockList *blockList);

/* Local housekeeping: no-ops for local disks, as in VMware's library. */
const char *VixDiskLib_ListTransportModes (void);
VixError VixDiskLib_PrepareForAccess (const VixDiskLibConnectParams *connectParams,
                                      const char *identity);
VixError VixDiskLib_EndAccess (const VixDiskLibConnectParams *connectParams,
                               const char *identity);
VixError VixDiskLib_Cleanup (const VixDiskLibConnectParams *connectParams,
                             uint32_t *numCleanedUp, uint32_t *numRemaining);

/* The disk database (DDB) of the opened link, keys without "ddb.". */
VixError VixDiskLib_GetMetadataKeys (VixDiskLibHandle diskHandle, char *keys,
                                     size_t maxLen, size_t *requiredLen);
VixError VixDiskLib_ReadMetadata (VixDiskLibHandle diskHandle, const char *key,
                                  char *buf, size_t bufLen,
                                  size_t *requiredLen);
VixError VixDiskLib_WriteMetadata (VixDiskLibHandle diskHandle,
                                   const char *key, const char *val);

/* Whole-disk operations. */
VixError VixDiskLib_CreateChild (VixDiskLibHandle diskHandle,
                                 const char *childPath,
                                 VixDiskLibDiskType diskType,
                                 VixDiskLibProgressFunc progressFunc,
                                 void *progressCallbackData);
VixError VixDiskLib_Clone (const VixDiskLibConnection dstConnection,
                           const char *dstPath,
                           const VixDiskLibConnection srcConnection,
                           const char *srcPath,
                           const VixDiskLibCreateParams *vixCreateParams,
                           VixDiskLibProgressFunc progressFunc,
                           void *progressCallbackData, char overWrite);
VixError VixDiskLib_Unlink (VixDiskLibConnection connection, const char *path);
/* Grow a local disk that is not open to capacity sectors. */
VixError VixDiskLib_Grow (VixDiskLibConnection connection, const char *path,
                          VixDiskLibSectorType capacity, char updateGeometry,
                          VixDiskLibProgressFunc progressFunc,
                          void *progressCallbackData);
/* Reclaim the space of zeros, or lay the disk out in order. */
VixError VixDiskLib_Shrink (VixDiskLibHandle diskHandle,
                            VixDiskLibProgressFunc progressFunc,
                            void *progressCallbackData);
VixError VixDiskLib_Defragment (VixDiskLibHandle diskHandle,
                                VixDiskLibProgressFunc progressFunc,
                                void *progressCallbackData);
VixError VixDiskLib_Rename (const char *srcFileName, const char *dstFileName);
/* Bytes a Clone of the disk to cloneDiskType would take
 * (VIXDISKLIB_DISK_UNKNOWN: the disk's own type). */
VixError VixDiskLib_SpaceNeededForClone (VixDiskLibHandle diskHandle,
                                         VixDiskLibDiskType cloneDiskType,
                                         uint64_t *spaceNeeded);
/* Check (and, with repair, fix what can be fixed in) a disk's files. */
VixError VixDiskLib_CheckRepair (const VixDiskLibConnection connection,
                                 const char *filename, char repair);

/* Chains: put a child opened with VIXDISKLIB_FLAG_OPEN_SINGLE_LINK on
 * top of its parent's chain; the parent handle is spent (close it). */
VixError VixDiskLib_IsAttachPossible (VixDiskLibHandle parent,
                                      VixDiskLibHandle child);
VixError VixDiskLib_Attach (VixDiskLibHandle parent, VixDiskLibHandle child);

/* The parameters a connection was made with (secrets left out); free
 * with VixDiskLib_FreeConnectParams. */
VixError VixDiskLib_GetConnectParams (const VixDiskLibConnection connection,
                                      VixDiskLibConnectParams **connectParams);

/* ---- Extensions of this open library (not in VMware's VDDK) ----
 * Look them up with dlsym and do without them when they are absent, so
 * that programs keep working with VMware's library. */

/* What this library can do beyond VMware's contract (a bit mask). */
#define OPENVIXDISKLIB_CAP_THREAD_SAFE 1u   /* any call on a handle from
                                             * any thread, concurrently
                                             * (Read, Write, Flush,
                                             * QueryAllocatedBlocks,
                                             * GetInfo) */
uint32_t OpenVixDiskLib_Capabilities (void);

/* Stop the Create, CreateChild and Clone calls in progress in this
 * process: each removes what it made (the new disk appears under its
 * name only when complete) and returns VIX_E_CANCELLED.  Calls started
 * afterwards are not affected.  Async-signal-safe: made to be called
 * from a SIGINT or SIGTERM handler. */
void OpenVixDiskLib_Cancel (void);

/* The request size, in bytes, that suits the opened disk best: a
 * multiple of it avoids read-modify-write inside the library (for
 * stream-optimized disks, one grain, which is compressed whole). */
VixError OpenVixDiskLib_GetPreferredIOSize (VixDiskLibHandle diskHandle,
                                            uint32_t *bytes);

/* The files of one link of the opened disk (link 0 is the newest; see
 * numLinks in VixDiskLibInfo), for tools that show a disk's layout.
 * Free with OpenVixDiskLib_FreeLinkInfo. */
typedef struct {
  char *fileName;               /* NULL for a ZERO extent */
  char *type;                   /* as the descriptor says: "SPARSE"... */
  char *access;                 /* "RW", "RDONLY" or "NOACCESS" */
  uint64_t sectors;             /* its part of the disk */
  uint64_t offset;              /* sectors into the file */
  uint64_t fileBytes;           /* size of the file */
  uint64_t allocatedBytes;      /* space the file takes on its filesystem */
} OpenVixDiskLibExtentInfo;

typedef struct {
  char *fileName;               /* the descriptor (or monolithic file) */
  char *createType;
  VixDiskLibDiskType diskType;  /* UNKNOWN for types Create cannot make */
  uint32_t cid, parentCid;      /* parentCid 0xffffffff: no parent */
  char *parentFileNameHint;
  uint64_t capacity;            /* sectors */
  uint32_t numExtents;
  OpenVixDiskLibExtentInfo *extents;
} OpenVixDiskLibLinkInfo;

VixError OpenVixDiskLib_GetLinkInfo (VixDiskLibHandle diskHandle,
                                     uint32_t link,
                                     OpenVixDiskLibLinkInfo **info);
void OpenVixDiskLib_FreeLinkInfo (OpenVixDiskLibLinkInfo *info);

#ifdef __cplusplus
}
#endif

#endif /* VIXDISKLIB_H */
