// SPDX-License-Identifier: BSD-3-Clause
// -lock-running: the files of the disks a powered-on VM has open answer
// HTTP 500 on /folder, as vCenter does for a file the running VM holds
// locked (virt-v2v's documentation tells users to shut the guest down
// or read a snapshot for this reason).  A VM holds its current disks
// (the top of each backing chain) for writing; the parents below a
// snapshot are only open for reading and stay readable, which is why a
// snapshot can be copied from a running VM.
//
// A disk "dir/x.vmdk" locks the files "dir/x.vmdk", and its extents
// "dir/x-flat.vmdk", "dir/x-delta.vmdk", "dir/x-sesparse.vmdk",
// "dir/x-sNNN.vmdk" and "dir/x-fNNN.vmdk".
package main

import (
	"flag"
	"log"
	"net/http"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var lockRunning = flag.Bool("lock-running", false, "/folder answers 500 for the disk files of powered-on VMs")

var extentSuffix = regexp.MustCompile(`^(|-flat|-delta|-sesparse|-[sf][0-9]{3})\.vmdk$`)

// lockedBy names the powered-on VM whose current disk holds "[ds] p".
func lockedBy(ds, p string) string {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		who := ""
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil {
				return
			}
			for _, d := range vm.Config.Hardware.Device {
				disk, ok := d.(*types.VirtualDisk)
				if !ok {
					continue
				}
				b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
				if !ok {
					continue
				}
				name := b.GetVirtualDeviceFileBackingInfo().FileName
				prefix := "[" + ds + "] "
				if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".vmdk") {
					continue
				}
				stem := strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".vmdk")
				if strings.HasPrefix(p, stem) && extentSuffix.MatchString(p[len(stem):]) {
					who = vm.Name
					return
				}
			}
		})
		if who != "" {
			return who
		}
	}
	return ""
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if !*lockRunning {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := strings.TrimPrefix(r.URL.Path, "/folder/"); p != r.URL.Path &&
				(r.Method == http.MethodGet || r.Method == http.MethodHead) {
				if vm := lockedBy(r.URL.Query().Get("dsName"), p); vm != "" {
					log.Printf("vcsim-lock: 500 to %s %s: locked by the running VM %s", r.Method, r.URL.Path, vm)
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
}
