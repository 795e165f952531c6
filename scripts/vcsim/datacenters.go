// SPDX-License-Identifier: BSD-3-Clause
// More than one datacenter, datacenters in folders, several datastores
// and datastore clusters (StoragePods), as real vCenters have them:
//
//	-datacenters N   N datacenters DC0..DC<N-1>, each with its own hosts,
//	                 VMs and datastores LocalDS_0.. (names repeat across
//	                 datacenters: they are unique only within their parent)
//	-dc-folders N    the last N datacenters each inside a folder F0, F1..
//	                 below the root folder (dcPath "F0/DC1")
//	-datastores N    N local datastores per datacenter (ESXi too)
//	-pods            each datacenter's datastores moved into a StoragePod
//	                 "<dc>_POD0" of its datastore folder
package main

import (
	"flag"
	"log"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	dcCount   = flag.Int("datacenters", 0, "number of datacenters (vCenter model; 0: the model's default)")
	dcFolders = flag.Int("dc-folders", 0, "put the last N datacenters in folders (vCenter model)")
	dsCount   = flag.Int("datastores", 0, "local datastores per datacenter (0: the model's default)")
	pods      = flag.Bool("pods", false, "move each datacenter's datastores into a StoragePod")
)

func init() {
	modelHooks = append(modelHooks, func(m *simulator.Model) {
		if *dcCount > 0 {
			m.Datacenter = *dcCount
		}
		if *dcFolders > 0 {
			m.Folder = *dcFolders
		}
		if *dsCount > 0 {
			m.Datastore = *dsCount
		}
		if *pods {
			m.Pod = 1
		}
	})
	inventoryHooks = append(inventoryHooks, func(m *simulator.Model) {
		if *pods {
			movePods()
		}
	})
}

// datacenterOf walks parent references up to the Datacenter.
func datacenterOf(e mo.Entity) *types.ManagedObjectReference {
	for i := 0; e != nil && i < 64; i++ {
		p := e.Entity().Parent
		if p == nil {
			return nil
		}
		if p.Type == "Datacenter" {
			return p
		}
		next, ok := simulator.Map.Get(*p).(mo.Entity)
		if !ok {
			return nil
		}
		e = next
	}
	return nil
}

// movePods moves every datastore into the StoragePod of its datacenter,
// as MoveIntoFolder_Task on a datastore cluster would: the datastore's
// parent becomes the pod, which lists it among its children.
func movePods() {
	podOf := map[types.ManagedObjectReference]*simulator.StoragePod{}
	for _, e := range simulator.Map.All("StoragePod") {
		pod, ok := e.(*simulator.StoragePod)
		if !ok {
			continue
		}
		if dc := datacenterOf(pod); dc != nil && podOf[*dc] == nil {
			podOf[*dc] = pod
		}
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds, ok := e.(*simulator.Datastore)
		if !ok || ds.Parent == nil {
			continue
		}
		dc := datacenterOf(ds)
		if dc == nil || podOf[*dc] == nil {
			log.Printf("vcsim: -pods: datastore %s has no pod", ds.Name)
			continue
		}
		pod := podOf[*dc]
		if old, ok := simulator.Map.Get(*ds.Parent).(*simulator.Folder); ok {
			simulator.RemoveReference(&old.ChildEntity, ds.Self)
		}
		pod.ChildEntity = append(pod.ChildEntity, ds.Self)
		parent := pod.Self
		ds.Parent = &parent
	}
}
