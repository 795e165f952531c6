// SPDX-License-Identifier: BSD-3-Clause
// /folder for datastores inside a datastore cluster (StoragePod, see
// -pods in datacenters.go).  A real vCenter finds dsName among the
// datastores of the datacenter named by dcPath, wherever they sit in its
// datastore folder; the simulator's handler looks the name up directly
// below the datastore folder, so a datastore in a pod is not found (404).
// This wrapper (after the decoding of folder_decoding.go: this file's
// init runs later, so its wrapper is inner) rewrites dsName to the
// datastore's path below the datastore folder, "<pod>/<name>", for the
// simulator's lookup.  Nothing changes for clients.
package main

import (
	"net/http"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
)

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if !*pods {
			return next
		}
		return podPaths{next}
	})
}

type podPaths struct{ next http.Handler }

// inventoryPath is "F0/DC1": the names below the root folder.
func inventoryPath(e mo.Entity) string {
	var names []string
	for i := 0; e != nil && i < 64; i++ {
		me := e.Entity()
		if me.Parent == nil {
			break // the root folder
		}
		names = append([]string{me.Name}, names...)
		e, _ = simulator.Map.Get(*me.Parent).(mo.Entity)
	}
	return strings.Join(names, "/")
}

func (p podPaths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dcPath, dsName := q.Get("dcPath"), q.Get("dsName")
	if !strings.HasPrefix(r.URL.Path, "/folder") || dsName == "" {
		p.next.ServeHTTP(w, r)
		return
	}
	for _, e := range simulator.Map.All("Datacenter") {
		dc, ok := e.(*simulator.Datacenter)
		if !ok || (dcPath != "" && inventoryPath(dc) != dcPath) {
			continue
		}
		for _, ref := range dc.Datastore {
			ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
			if !ok || ds.Name != dsName || ds.Parent == nil ||
				ds.Parent.Type != "StoragePod" {
				continue
			}
			if pod, ok := simulator.Map.Get(*ds.Parent).(*simulator.StoragePod); ok {
				q.Set("dsName", pod.Name+"/"+ds.Name)
				r2 := r.Clone(r.Context())
				r2.URL.RawQuery = q.Encode()
				p.next.ServeHTTP(w, r2)
				return
			}
		}
	}
	p.next.ServeHTTP(w, r)
}
