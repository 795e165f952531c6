// SPDX-License-Identifier: BSD-3-Clause
// Inventory names with any character, stored the way vSphere stores
// them: an entity name keeps '/', '\' and '%' escaped as %2f, %5c and %25
// (everything else, spaces, '+', '&', non-ASCII, as it is).
//
//	-rename OLD=NEW   (repeatable) every datacenter, folder, StoragePod or
//	                  datastore named OLD is named NEW (escaped as above);
//	                  for a datastore, the VMs' file names "[OLD] ..."
//	                  become "[NEW] ..." too, as on a real server, whose
//	                  file names follow the datastore's current name
package main

import (
	"flag"
	"log"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type renames map[string]string

func (r renames) String() string { return "" }

func (r renames) Set(v string) error {
	i := strings.Index(v, "=")
	if i <= 0 {
		log.Fatalf("vcsim: -rename %q: want OLD=NEW", v)
	}
	r[v[:i]] = v[i+1:]
	return nil
}

var renameFlag = renames{}

func init() {
	flag.Var(renameFlag, "rename", "OLD=NEW: rename inventory entities (repeatable)")
	inventoryHooks = append(inventoryHooks, func(m *simulator.Model) {
		for old, name := range renameFlag {
			rename(old, escapeEntityName(name))
		}
	})
}

// escapeEntityName escapes a name as vSphere stores it (the API reference
// of CreateDatacenter, Rename_Task: "The slash (/), backslash (\) and
// percent (%) will be escaped using the URL syntax").
func escapeEntityName(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '%':
			b.WriteString("%25")
		case '/':
			b.WriteString("%2f")
		case '\\':
			b.WriteString("%5c")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func rename(old, name string) {
	n := 0
	for _, kind := range []string{"Datacenter", "Folder", "StoragePod", "Datastore"} {
		for _, e := range simulator.Map.All(kind) {
			me := e.Entity()
			if me.Name != old {
				continue
			}
			me.Name = name
			n++
			if ds, ok := e.(*simulator.Datastore); ok {
				ds.Summary.Name = name
				ds.Info.GetDatastoreInfo().Name = name
				renameFiles(ds.Self, "["+old+"]", "["+name+"]")
			}
		}
	}
	if n == 0 {
		log.Fatalf("vcsim: -rename: nothing is named %q", old)
	}
}

func swapPrefix(s *string, old, name string) {
	if strings.HasPrefix(*s, old) {
		*s = name + strings.TrimPrefix(*s, old)
	}
}

// renameFiles rewrites the file names of the VMs that use datastore ds.
func renameFiles(ds types.ManagedObjectReference, old, name string) {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok || simulator.FindReference(vm.Datastore, ds) == nil {
			continue
		}
		renameVMFiles(&vm.VirtualMachine, old, name)
	}
}

func renameVMFiles(vm *mo.VirtualMachine, old, name string) {
	if vm.Config != nil {
		f := &vm.Config.Files
		for _, s := range []*string{&f.VmPathName, &f.SnapshotDirectory,
			&f.SuspendDirectory, &f.LogDirectory} {
			swapPrefix(s, old, name)
		}
		for _, d := range vm.Config.Hardware.Device {
			if b, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				swapPrefix(&b.GetVirtualDeviceFileBackingInfo().FileName, old, name)
			}
		}
	}
	swapPrefix(&vm.Summary.Config.VmPathName, old, name)
	if vm.LayoutEx != nil {
		for i := range vm.LayoutEx.File {
			swapPrefix(&vm.LayoutEx.File[i].Name, old, name)
		}
	}
	if vm.Layout != nil {
		for i := range vm.Layout.ConfigFile {
			swapPrefix(&vm.Layout.ConfigFile[i], old, name)
		}
		for i := range vm.Layout.Disk {
			for j := range vm.Layout.Disk[i].DiskFile {
				swapPrefix(&vm.Layout.Disk[i].DiskFile[j], old, name)
			}
		}
	}
}
