package main

import "github.com/batchctl/batchctl/backends"

// batchctl's own JSON and YAML output (status, list, describe and their
// watch streams) carries apiVersion and kind, so scripts can check what
// they read; docs/output.md and docs/schema/ describe every field. A change
// that alters what a field means gets a new apiVersion.
const (
	outputAPIVersion = "batchctl.dev/v1"
	statusKind       = "JobStatus"
)

// versionedStatus is a Status as printed: apiVersion and kind first.
type versionedStatus struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	*backends.Status
}

func versioned(st *backends.Status) versionedStatus {
	return versionedStatus{APIVersion: outputAPIVersion, Kind: statusKind, Status: st}
}

func versionedList(sts []*backends.Status) []versionedStatus {
	out := make([]versionedStatus, len(sts))
	for i, st := range sts {
		out[i] = versioned(st)
	}
	return out
}
