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
	"encoding/xml"
	"fmt"
	"io"
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

// writeSoapFault answers a SOAP call with a fault of type name, as
// vSphere sends one: HTTP 500, the message as faultstring, and in detail
// the fault object, <NAMEFault> with xsi:type NAME, holding the fault's
// fields (detail: XML in the urn:vim25 namespace, already escaped).
func writeSoapFault(w http.ResponseWriter, name, text, detail string) {
	var msg strings.Builder
	xml.EscapeText(&msg, []byte(text))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode>
<faultstring>%s</faultstring>
<detail><%sFault xmlns="urn:vim25" xsi:type="%s">%s</%sFault></detail>
</soapenv:Fault></soapenv:Body></soapenv:Envelope>
`, msg.String(), name, name, detail, name)
}

func init() {
	handlerWrappers = append(handlerWrappers, func(next http.Handler) http.Handler {
		if *faultsFile == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/sdk") {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
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
