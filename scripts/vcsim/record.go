// SPDX-License-Identifier: BSD-3-Clause
// -record-headers FILE: append one line per request to FILE, "METHOD
// PATH expect=VALUE" ("expect=-" when the request had no Expect
// header), so that tests can check what a client sends on the wire.
// ESXi never answers "Expect: 100-continue" with an interim 100, and a
// client waiting for it stalls (see docs/testing-remote.md); Go's
// server does answer it, so the bed records the header instead.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
)

var recordHeaders = flag.String("record-headers", "", "append METHOD PATH expect=... for every request to this file")

func init() {
	var mu sync.Mutex
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if *recordHeaders == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			expect := "-"
			if v, ok := r.Header["Expect"]; ok {
				expect = fmt.Sprintf("%q", v)
			}
			mu.Lock()
			f, err := os.OpenFile(*recordHeaders, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0644)
			if err == nil {
				fmt.Fprintf(f, "%s %s expect=%s\n", r.Method, r.URL.Path, expect)
				f.Close()
			} else {
				log.Printf("vcsim: recording headers: %v", err)
			}
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
}
