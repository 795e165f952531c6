// SPDX-License-Identifier: BSD-3-Clause
// -ignore-range: /folder answers every GET with the whole file (HTTP
// 200), whatever Range asked for.  HTTP lets a server ignore Range
// (RFC 9110, section 14.2: "A server MAY ignore the Range header
// field"), and a proxy in front of vCenter may drop it.  A client must
// then read the size from Content-Length and refuse bytes from the
// wrong offset rather than store them.
package main

import (
	"flag"
	"net/http"
	"strings"
)

var ignoreRange = flag.Bool("ignore-range", false, "/folder ignores Range: every GET gets the whole file")

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if !*ignoreRange {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/folder") {
				r.Header.Del("Range")
			}
			next.ServeHTTP(w, r)
		})
	})
}
