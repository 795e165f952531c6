// SPDX-License-Identifier: BSD-3-Clause
// -ds-type NAME=TYPE: give datastore NAME the summary.type TYPE, e.g.
// -ds-type LocalDS_0=vsan to model a vSAN datastore, or
// -ds-type LocalDS_0=VVOL a vVol one (the types real servers report).
// On such datastores disks are objects: their descriptors name extents
// "vsan://<uuid>" or "vvol://<uuid>", with no -flat file to download.
// Only the reported type changes here; the files stay as they are, so
// that a client that ignores the type would still (wrongly) read them.
package main

import (
	"flag"
	"log"
	"strings"

	"github.com/vmware/govmomi/simulator"
)

var dsTypes = flag.String("ds-type", "", "NAME=TYPE[,NAME=TYPE...]: set datastores' summary.type")

func init() {
	inventoryHooks = append(inventoryHooks, func(*simulator.Model) {
		if *dsTypes == "" {
			return
		}
		for _, pair := range strings.Split(*dsTypes, ",") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				log.Fatalf("vcsim: -ds-type wants NAME=TYPE, not %q", pair)
			}
			found := false
			for _, e := range simulator.Map.All("Datastore") {
				ds, ok := e.(*simulator.Datastore)
				if !ok || ds.Name != kv[0] {
					continue
				}
				ds.Summary.Type = kv[1]
				found = true
			}
			if !found {
				log.Fatalf("vcsim: -ds-type: no datastore %q", kv[0])
			}
		}
	})
}
