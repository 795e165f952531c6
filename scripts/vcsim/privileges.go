// SPDX-License-Identifier: BSD-3-Clause
// -folder-deny: /folder answers 401 to every request, even with a live
// session, as vCenter answers an account that may log in and read the
// inventory but lacks the privileges datastore downloads need.  VMware's
// "Privilege Requirements for HTTP Access" (vSphere Web Services SDK
// programming guide) lists System.View on the root folder and
// Datastore.Browse and Datastore.FileManagement on the datacenter and
// the datastore; rbvmomi issue #97 shows vCenter's answer without them:
// 401 Unauthorized, until both datastore privileges were granted at the
// datacenter too.
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
)

var folderDeny = flag.Bool("folder-deny", false, "/folder answers 401 to everyone (an account without the datastore privileges)")

type folderDenier struct{ next http.Handler }

func (d folderDenier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/folder") {
		log.Printf("vcsim-privileges: 401 to %s %s (no datastore privileges)", r.Method, r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
		return
	}
	d.next.ServeHTTP(w, r)
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if !*folderDeny {
			return next
		}
		return folderDenier{next: next}
	})
}
