// SPDX-License-Identifier: BSD-3-Clause
// SOAP faults on chosen calls, from the same -faults control file as
// faults.go, one rule a line:
//
//	fault:InvalidArgument 1 <path>datastore</path>
//	                    the next request to /sdk whose body contains the
//	                    text (no spaces) gets a SOAP fault of that type
//
// as vSphere sends one: HTTP 500, a soapenv:Fault with a faultstring,
// and the fault object in detail with its type as xsi:type.  Tests use
// it to make a server refuse one form of a call, so that the client's
// other way of asking is tried.
package main

import (
	"bytes"
	"log"
	"net/http"
	"strings"
)

// takeSoapFault consumes one "fault:NAME COUNT TEXT" rule whose TEXT is
// in body, and returns NAME, or "".
func takeSoapFault(body []byte) string {
	hit := takeRule(func(f []string) bool {
		return len(f) >= 3 && strings.HasPrefix(f[0], "fault:") &&
			bytes.Contains(body, []byte(f[2]))
	})
	return strings.TrimPrefix(hit, "fault:")
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if *faultsFile == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, answered := soapBody(w, r)
			if answered {
				return
			}
			name := takeSoapFault(body)
			if name == "" {
				next.ServeHTTP(w, r)
				return
			}
			log.Printf("vcsim-fault: SOAP fault %s to a call to %s", name, r.URL.Path)
			writeSoapFault(w, name, "injected by the test bed: "+name, "")
		})
	})
}
