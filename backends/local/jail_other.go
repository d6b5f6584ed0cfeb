//go:build !linux

package local

import "syscall"

// Outside Linux there are no cgroups: containers are process groups only
// (see jail_linux.go).
type jails struct{}

func newJails() *jails                                  { return &jails{} }
func (j *jails) available() bool                        { return false }
func (j *jails) path(uid, pod, container string) string { return "" }
func (j *jails) jobPath(uid string) string              { return "" }
func (j *jails) create(string) error                    { return nil }
func (j *jails) enter(string) (func(), error)           { return func() {}, nil }
func (j *jails) kill(string)                            {}
func (j *jails) signal(string, syscall.Signal)          {}
func (j *jails) remove(string)                          {}
func becomeSubreaper()                                  {}
func killOrphans(map[int]bool)                          {}
