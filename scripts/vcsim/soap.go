// SPDX-License-Identifier: BSD-3-Clause
// What the bed's SOAP handlers share: reading a call's body without
// taking it from the handlers after them, and answering with a fault.
package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// soapBody reads the body of a SOAP call (a POST to /sdk) and leaves a
// copy in r for the next handler.  It returns nil for any other request.
// A body it cannot read it answers itself (answered: the caller stops).
func soapBody(w http.ResponseWriter, r *http.Request) (body []byte, answered bool) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/sdk") {
		return nil, false
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, false
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
