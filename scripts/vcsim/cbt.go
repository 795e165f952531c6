// SPDX-License-Identifier: BSD-3-Clause
// QueryChangedDiskAreas (VirtualMachine), which govmomi's simulator does
// not implement, answered as ESXi and vCenter answer it for changeId "*":
// the areas of a disk that are in use.  VMware's VDDK programming guide
// ("About Changed Block Tracking") says "*" returns all in-use areas,
// computed from the unallocated areas (holes) of the disk, so the bed
// reads the allocation of the disk's files on the datastore:
//
//   - a flat extent (FLAT, VMFS in a descriptor): its data regions, by
//     lseek SEEK_DATA/SEEK_HOLE (qemu-img map reports the holes of a
//     -flat file as data);
//   - any other layer (sparse, delta, seSparse): the "data" entries of
//     qemu-img map, with the layer's own backing file left out;
//   - a chain (backing.parent): the union over its layers.
//
// Areas are rounded outward to 64 KiB: what real CBT gives may be a
// superset of what was written, never a subset.  Only "*" is modelled;
// no changes are tracked.  -cbt-span BYTES ends each answer after that
// many bytes (default 0: the whole rest of the disk in one answer), and
// -cbt-max-areas N after N areas, ending at the end of the last (as a
// real ESXi was seen answering 2000 areas at a time), so that clients
// must ask again from startOffset + length.
//
// The call is first passed to the simulator, which checks the session
// (NotAuthenticated) and the VM (ManagedObjectNotFound) before it finds
// that it has no such method (MethodNotFound): only then does the bed
// answer.  It is an inner wrapper (main.go), so injected faults and
// -record-headers see the call like any other.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var cbtSpan = flag.Int64("cbt-span", 0, "QueryChangedDiskAreas answers at most this many bytes of the disk per call (0: the rest of the disk)")
var cbtMaxAreas = flag.Int("cbt-max-areas", 0, "QueryChangedDiskAreas answers with at most this many areas per call, ending at the end of the last (0: no limit)")

// Areas are rounded outward to this (real change tracking reports whole
// blocks too, of a size that depends on the disk).
const cbtBlock = 64 << 10

// lseek whence values of Linux, not in Go's syscall package.
const (
	seekData = 3
	seekHole = 4
)

type area struct{ start, length int64 }

// cbtFault is an answer that is a SOAP fault.
type cbtFault struct {
	name, text, detail string
}

func invalidArgument(prop string) *cbtFault {
	return &cbtFault{"InvalidArgument", "A specified parameter was not correct: " + prop,
		"<invalidProperty>" + prop + "</invalidProperty>"}
}

func objectNotFound(ref types.ManagedObjectReference) *cbtFault {
	return &cbtFault{"ManagedObjectNotFound",
		fmt.Sprintf("The object '%s:%s' has already been deleted or has not been completely created", ref.Type, ref.Value),
		fmt.Sprintf(`<obj type="%s">%s</obj>`, xmlText(ref.Type), xmlText(ref.Value))}
}

func fileFault(file, why string) *cbtFault {
	return &cbtFault{"FileFault", "Error caused by file " + file + ": " + why,
		"<file>" + xmlText(file) + "</file>"}
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// layer is one file of a disk's chain, top first.
type layer struct {
	fileName string
	ds       *types.ManagedObjectReference
}

// diskChain lists the files of a disk backing and its parents.
func diskChain(b types.BaseVirtualDeviceBackingInfo) ([]layer, error) {
	var chain []layer
	for b != nil && len(chain) < 256 {
		fb, ok := b.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			return nil, fmt.Errorf("backing %T is not a file", b)
		}
		info := fb.GetVirtualDeviceFileBackingInfo()
		l := layer{fileName: info.FileName}
		if info.Datastore != nil {
			ds := *info.Datastore // a copy: used after the lock
			l.ds = &ds
		}
		chain = append(chain, l)
		b = nil
		switch v := fb.(type) {
		case *types.VirtualDiskFlatVer2BackingInfo:
			if v.Parent != nil {
				b = v.Parent
			}
		case *types.VirtualDiskSeSparseBackingInfo:
			if v.Parent != nil {
				b = v.Parent
			}
		case *types.VirtualDiskSparseVer2BackingInfo:
			if v.Parent != nil {
				b = v.Parent
			}
		}
	}
	return chain, nil
}

// cbtQuery is what an answer needs, read under the simulator's locks.
type cbtQuery struct {
	capacity int64
	chain    []layer
	vmDs     []types.ManagedObjectReference
}

func tracking(c *types.VirtualMachineConfigInfo) bool {
	return c.ChangeTrackingEnabled != nil && *c.ChangeTrackingEnabled
}

// lookUp checks the call against the inventory as a real server does.
func lookUp(req *types.QueryChangedDiskAreas) (*cbtQuery, *cbtFault) {
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		return nil, objectNotFound(req.This)
	}
	var q cbtQuery
	var fault *cbtFault
	on, poweredOff := false, false
	simulator.Map.WithLock(vm, func() {
		q.vmDs = append(q.vmDs, vm.Datastore...)
		poweredOff = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOff
		if vm.Config == nil {
			fault = invalidArgument("deviceKey")
			return
		}
		on = tracking(vm.Config)
		if req.Snapshot == nil {
			fault = q.findDisk(vm.Config, req.DeviceKey)
		}
	})
	if fault != nil {
		return nil, fault
	}
	if req.Snapshot != nil {
		s, ok := simulator.Map.Get(*req.Snapshot).(*simulator.VirtualMachineSnapshot)
		if !ok {
			return nil, objectNotFound(*req.Snapshot)
		}
		simulator.Map.WithLock(s, func() {
			if s.Vm != req.This {
				// "NotFound: if the snapshot specified does not exist"
				fault = &cbtFault{"NotFound", fmt.Sprintf("The snapshot %s is not a snapshot of %s.", s.Self.Value, req.This.Value), ""}
				return
			}
			fault = q.findDisk(&s.Config, req.DeviceKey)
			// A snapshot taken before tracking was on has none.
			on = on && tracking(&s.Config)
		})
		if fault != nil {
			return nil, fault
		}
	}
	if !on {
		// Real servers answer a FileFault about the disk here.
		return nil, fileFault(q.chain[0].fileName, "changed block tracking is not enabled")
	}
	// "If not set, changes are computed against the "current" snapshot of
	// the virtual machine.  However, using the "current" snapshot will
	// only work for virtual machines that are powered off." (the API
	// reference on the snapshot argument)
	if req.Snapshot == nil && !poweredOff {
		return nil, &cbtFault{"InvalidState", "The operation is not allowed in the current state: without a snapshot, only for a powered-off VM.", ""}
	}
	return &q, nil
}

func (q *cbtQuery) findDisk(config *types.VirtualMachineConfigInfo, key int32) *cbtFault {
	for _, d := range config.Hardware.Device {
		disk, ok := d.(*types.VirtualDisk)
		if !ok || disk.Key != key {
			continue
		}
		q.capacity = disk.CapacityInBytes
		if q.capacity == 0 {
			q.capacity = disk.CapacityInKB * 1024
		}
		chain, err := diskChain(disk.Backing)
		if err != nil || len(chain) == 0 {
			return invalidArgument("deviceKey")
		}
		q.chain = chain
		return nil
	}
	return invalidArgument("deviceKey")
}

var dsPath = regexp.MustCompile(`^\[([^\]]+)\] (.+)$`)

// localPath maps "[ds] dir/x.vmdk" to the file in the datastore's local
// directory: the backing's datastore, else the VM's datastore of that
// name (names repeat across datacenters).
func localPath(l layer, vmDs []types.ManagedObjectReference) (string, error) {
	m := dsPath.FindStringSubmatch(l.fileName)
	if m == nil {
		return "", fmt.Errorf("%q is not a datastore path", l.fileName)
	}
	refs := vmDs
	if l.ds != nil {
		refs = []types.ManagedObjectReference{*l.ds}
	}
	for _, ref := range refs {
		ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
		if !ok {
			continue
		}
		var name, dir string
		simulator.Map.WithLock(ds, func() {
			name, dir = ds.Name, ds.Info.GetDatastoreInfo().Url
		})
		if name == m[1] {
			return filepath.Join(dir, m[2]), nil
		}
	}
	return "", fmt.Errorf("no datastore %q for %s", m[1], l.fileName)
}

// extentLine is an extent of a text descriptor: access, size in sectors,
// type, "file", offset in sectors.
var extentLine = regexp.MustCompile(`^\s*(RW|RDONLY|NOACCESS)\s+([0-9]+)\s+([A-Z]+)(?:\s+"([^"]*)"(?:\s+([0-9]+))?)?`)

// layerAreas lists the allocated areas of one layer (not its parents).
func layerAreas(path string) ([]area, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	head = head[:n]
	if n >= 4 && (string(head[:4]) == "KDMV" || string(head[:4]) == "COWD") ||
		n >= 8 && bytes.Equal(head[:8], []byte{0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0}) {
		return qemuMap(path)
	}
	// A text descriptor (qemu-img pads its own with NULs).
	if i := bytes.IndexByte(head, 0); i >= 0 {
		head = head[:i]
	}
	var out []area
	var vstart int64
	extents := 0
	for _, line := range strings.Split(string(head), "\n") {
		m := extentLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		extents++
		sectors, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return nil, err
		}
		size := sectors * 512
		switch m[3] {
		case "ZERO":
		case "FLAT", "VMFS", "VMFSRAW", "VMFSRDM":
			off := int64(0)
			if m[5] != "" {
				if off, err = strconv.ParseInt(m[5], 10, 64); err != nil {
					return nil, err
				}
			}
			name := m[4]
			if !filepath.IsAbs(name) {
				name = filepath.Join(filepath.Dir(path), name)
			}
			got, err := dataRegions(name, off*512, size, vstart)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		default:
			// Sparse extents: qemu-img reads the whole layer.
			return qemuMap(path)
		}
		vstart += size
	}
	if extents == 0 {
		return nil, fmt.Errorf("%s is neither a descriptor with extents nor a sparse extent", path)
	}
	return out, nil
}

// dataRegions lists the data (non-hole) regions of the file's bytes
// [off, off+size), placed at vstart on the disk.
func dataRegions(path string, off, size, vstart int64) ([]area, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fd := int(f.Fd())
	var out []area
	end := off + size
	for pos := off; pos < end; {
		d, err := syscall.Seek(fd, pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // only a hole up to the end of the file
		}
		if err != nil {
			return nil, fmt.Errorf("%s: SEEK_DATA: %v", path, err)
		}
		if d >= end {
			break
		}
		h, err := syscall.Seek(fd, d, seekHole)
		if err != nil {
			return nil, fmt.Errorf("%s: SEEK_HOLE: %v", path, err)
		}
		if h > end {
			h = end
		}
		out = append(out, area{vstart + d - off, h - d})
		pos = h
	}
	return out, nil
}

// qemuMap lists the allocated areas of a layer with qemu-img map, its
// backing file left out (it is a layer of its own in the chain, and its
// parentFileNameHint may not resolve here).
func qemuMap(path string) ([]area, error) {
	spec, err := json.Marshal(map[string]interface{}{
		"driver":  "vmdk",
		"file":    map[string]string{"driver": "file", "filename": path},
		"backing": nil,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "qemu-img", "map", "-U", "--output=json", "json:"+string(spec))
	cmd.Stderr = &stderr
	text, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("qemu-img map %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var entries []struct {
		Start  int64 `json:"start"`
		Length int64 `json:"length"`
		Data   bool  `json:"data"`
	}
	if err := json.Unmarshal(text, &entries); err != nil {
		return nil, fmt.Errorf("qemu-img map %s: %v", path, err)
	}
	var out []area
	for _, e := range entries {
		if e.Data {
			out = append(out, area{e.Start, e.Length})
		}
	}
	return out, nil
}

// inUse lists the areas of the window [start, start+length) in use in
// any layer of the chain: rounded outward to cbtBlock, clipped to the
// window, merged and sorted.
func inUse(q *cbtQuery, start, length int64) ([]area, error) {
	var all []area
	for _, l := range q.chain {
		path, err := localPath(l, q.vmDs)
		if err != nil {
			return nil, err
		}
		got, err := layerAreas(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", l.fileName, err)
		}
		all = append(all, got...)
	}
	end := start + length
	var clipped []area
	for _, a := range all {
		s := a.start / cbtBlock * cbtBlock
		e := (a.start + a.length + cbtBlock - 1) / cbtBlock * cbtBlock
		if s < start {
			s = start
		}
		if e > end {
			e = end
		}
		if s < e {
			clipped = append(clipped, area{s, e - s})
		}
	}
	sort.Slice(clipped, func(i, j int) bool { return clipped[i].start < clipped[j].start })
	var out []area
	for _, a := range clipped {
		if n := len(out); n > 0 && a.start <= out[n-1].start+out[n-1].length {
			if e := a.start + a.length; e > out[n-1].start+out[n-1].length {
				out[n-1].length = e - out[n-1].start
			}
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// answer computes the DiskChangeInfo of a call, or its fault.
func answer(req *types.QueryChangedDiskAreas) (int64, []area, *cbtFault) {
	q, fault := lookUp(req)
	if fault != nil {
		return 0, nil, fault
	}
	if req.ChangeId != "*" {
		// Only "*" (all areas in use) is modelled: no changes are
		// tracked, so no other change ID was ever handed out.
		return 0, nil, invalidArgument("changeId")
	}
	if req.StartOffset < 0 || req.StartOffset >= q.capacity {
		return 0, nil, invalidArgument("startOffset")
	}
	length := q.capacity - req.StartOffset
	if *cbtSpan > 0 && *cbtSpan < length {
		length = *cbtSpan
	}
	areas, err := inUse(q, req.StartOffset, length)
	if err != nil {
		// Never a smaller answer than the truth: a fault instead.
		return 0, nil, fileFault(q.chain[0].fileName, err.Error())
	}
	if n := *cbtMaxAreas; n > 0 && len(areas) > n {
		areas = areas[:n]
		length = areas[n-1].start + areas[n-1].length - req.StartOffset
	}
	return length, areas, nil
}

func writeDiskChangeInfo(w http.ResponseWriter, start, length int64, areas []area) {
	// No xsi:type on returnval and changedArea: vSphere puts one only
	// where the value's type is not the declared one (DiskChangeInfo,
	// DiskChangeExtent here).
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>
<QueryChangedDiskAreasResponse xmlns="urn:vim25"><returnval><startOffset>%d</startOffset><length>%d</length>`, start, length)
	for _, a := range areas {
		fmt.Fprintf(&b, "<changedArea><start>%d</start><length>%d</length></changedArea>", a.start, a.length)
	}
	b.WriteString("</returnval></QueryChangedDiskAreasResponse>\n</soapenv:Body>\n</soapenv:Envelope>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, b.String())
}

type changedAreas struct{ next http.Handler }

func (c changedAreas) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, answered := soapBody(w, r)
	if answered {
		return
	}
	if !bytes.Contains(body, []byte("QueryChangedDiskAreas")) {
		c.next.ServeHTTP(w, r)
		return
	}
	var req *types.QueryChangedDiskAreas
	if method, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
		req, _ = method.Body.(*types.QueryChangedDiskAreas)
	}
	if req == nil {
		c.next.ServeHTTP(w, r)
		return
	}
	// The simulator's checks first (see the top of this file).
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	if rec.Code != http.StatusInternalServerError || !bytes.Contains(rec.Body.Bytes(), []byte("MethodNotFound")) {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	snap := "-"
	if req.Snapshot != nil {
		snap = req.Snapshot.Value
	}
	length, areas, fault := answer(req)
	if fault != nil {
		log.Printf("vcsim-cbt: %s to QueryChangedDiskAreas %s snapshot %s disk %d from %d: %s",
			fault.name, req.This.Value, snap, req.DeviceKey, req.StartOffset, fault.text)
		writeSoapFault(w, fault.name, fault.text, fault.detail)
		return
	}
	var used int64
	for _, a := range areas {
		used += a.length
	}
	log.Printf("vcsim-cbt: QueryChangedDiskAreas %s snapshot %s disk %d: [%d, +%d): %d areas, %d bytes in use",
		req.This.Value, snap, req.DeviceKey, req.StartOffset, length, len(areas), used)
	writeDiskChangeInfo(w, req.StartOffset, length, areas)
}

func init() {
	innerWrappers = append(innerWrappers, func(next http.Handler) http.Handler {
		if *cbtSpan < 0 {
			log.Fatalf("vcsim: -cbt-span %d: want 0 or more bytes", *cbtSpan)
		}
		if *cbtMaxAreas < 0 {
			log.Fatalf("vcsim: -cbt-max-areas %d: want 0 or more", *cbtMaxAreas)
		}
		return changedAreas{next}
	})
}
