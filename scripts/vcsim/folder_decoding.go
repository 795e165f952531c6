// SPDX-License-Identifier: BSD-3-Clause
// How /folder decodes its query, as each real server does:
//
//	-folder-decoding auto|once|twice   (default auto: twice for the
//	                                   vCenter model, once for ESXi)
//
// vCenter decodes the query of a /folder URL twice: first the whole query
// string, then each dcPath and dsName value once more.  So a '&' sent
// encoded once splits the value ("dsName=R%26D" reads as dsName "R"), a
// '+' becomes a space and a "%25" becomes a '%': the names are not found,
// 404, unless the client encoded them twice (as vCenter's own browser
// does: dcPath=EP%2526T for the datacenter "EP&T").  ESXi decodes once,
// which is what the simulator's /folder handler does by itself.
// A query that no longer decodes after the first pass is answered 404,
// as a server that cannot find such a name would.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/vmware/govmomi/simulator"
)

var (
	folderDecoding = flag.String("folder-decoding", "auto",
		"how /folder decodes dcPath and dsName: once (ESXi), twice (vCenter), auto (as the model)")
	modelAPIType string
)

func init() {
	modelHooks = append(modelHooks, func(m *simulator.Model) {
		modelAPIType = m.ServiceContent.About.ApiType
	})
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		switch *folderDecoding {
		case "once":
			return next
		case "twice":
		case "auto":
			if modelAPIType != "VirtualCenter" {
				return next
			}
		default:
			log.Fatalf("vcsim: -folder-decoding %q: want auto, once or twice", *folderDecoding)
		}
		return decodeTwice{next}
	})
}

type decodeTwice struct{ next http.Handler }

func (d decodeTwice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/folder" && !strings.HasPrefix(r.URL.Path, "/folder/") ||
		r.URL.RawQuery == "" {
		d.next.ServeHTTP(w, r)
		return
	}
	q, err := url.PathUnescape(r.URL.RawQuery)
	if err == nil {
		_, err = url.ParseQuery(q)
	}
	if err != nil {
		log.Printf("vcsim: /folder query %q does not decode twice: %v", r.URL.RawQuery, err)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q
	d.next.ServeHTTP(w, r2)
}
