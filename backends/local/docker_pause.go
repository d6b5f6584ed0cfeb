package local

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// The pause container holds a pod's network and IPC namespaces, which the
// pod's containers join, as Kubernetes' sandbox does, and keeps its
// emptyDir volumes mounted (a Memory one is a tmpfs that the daemon would
// unmount, losing its files, when no container uses it).
//
// Its image is made here, never pulled: a registry may not be reachable,
// and a job must not depend on one for batchctl's own plumbing. It holds
// one file, /pause, a static ELF program of a few instructions that waits
// for signals for ever (pause(2) on amd64, ppoll(2) on arm64: arm64 has no
// pause), and pauseMountPoints empty directories of mode 0777: a new
// volume mounted over one of them takes that mode from the daemon (its
// copy of the image's contents into an empty volume), as Kubernetes makes
// an emptyDir writable by every user. As PID 1 it ignores SIGTERM; it is
// only ever removed with SIGKILL. The image is imported into the daemon
// (docker import) the first time a pod needs it, tagged by its content.

const pauseMountPoints = 64

func pauseMountPoint(i int) string { return fmt.Sprintf("/v/%d", i) }

// pauseCode is the program per daemon architecture (as `docker info`
// names it), assembled from:
//
//	amd64:  1: mov eax, 34 (pause); syscall; jmp 1b
//	arm64:  1: mov x0..x3, #0; mov x8, #73 (ppoll); svc #0; b 1b
var pauseCode = map[string]struct {
	machine uint16 // ELF e_machine
	code    []byte
}{
	"x86_64":  {62, []byte{0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7}},
	"aarch64": {183, []byte{0x00, 0x00, 0x80, 0xd2, 0x01, 0x00, 0x80, 0xd2, 0x02, 0x00, 0x80, 0xd2, 0x03, 0x00, 0x80, 0xd2, 0x28, 0x09, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0xfa, 0xff, 0xff, 0x17}},
}

// pauseELF is a minimal static ELF64 executable: the header, one loadable
// segment (the whole file, read and execute) and the code right after.
func pauseELF(machine uint16, code []byte) []byte {
	const base, ehsize, phsize = 0x400000, 64, 56
	size := uint64(ehsize + phsize + len(code))
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V */})
	b.Write(make([]byte, 8))
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(uint16(2)) // ET_EXEC
	w(machine)
	w(uint32(1))                      // EV_CURRENT
	w(uint64(base + ehsize + phsize)) // entry
	w(uint64(ehsize))                 // program headers
	w(uint64(0))                      // no section headers
	w(uint32(0))                      // flags
	w(uint16(ehsize))
	w(uint16(phsize))
	w(uint16(1)) // one program header
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	w(uint32(1)) // PT_LOAD
	w(uint32(5)) // PF_R | PF_X
	w(uint64(0)) // offset
	w(uint64(base))
	w(uint64(base))
	w(size)
	w(size)
	w(uint64(0x10000)) // aligned for 64 KiB pages too
	b.Write(code)
	return b.Bytes()
}

// pauseRootfs is the image's filesystem as a tar: /pause and /v/0...
func pauseRootfs(arch string) ([]byte, error) {
	pc, ok := pauseCode[arch]
	if !ok {
		return nil, fmt.Errorf("the docker runtime has no pause program for the daemon's architecture %q (only x86_64 and aarch64): pods with more than one container or an emptyDir volume cannot run there", arch)
	}
	bin := pauseELF(pc.machine, pc.code)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	var err error
	add := func(h *tar.Header, body []byte) {
		h.ModTime, h.Format = epoch, tar.FormatPAX
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil && body != nil {
			_, err = tw.Write(body)
		}
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(bin))}, bin)
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "v/", Mode: 0o755}, nil)
	for i := range pauseMountPoints {
		add(&tar.Header{Typeflag: tar.TypeDir, Name: pauseMountPoint(i)[1:] + "/", Mode: 0o777}, nil)
	}
	if err == nil {
		err = tw.Close()
	}
	return buf.Bytes(), err
}

// pauseImage returns the pause image's reference, importing the image
// into the daemon if it lacks it.
func (r *dockerRuntime) pauseImage(ctx context.Context) (string, error) {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.pauseRef != "" {
		return r.pauseRef, nil
	}
	info, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", err
	}
	if info.Info.OSType != "" && info.Info.OSType != "linux" {
		return "", fmt.Errorf("the docker runtime needs a daemon running Linux containers, not %s", info.Info.OSType)
	}
	rootfs, err := pauseRootfs(info.Info.Architecture)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(rootfs)
	ref := "batchctl.dev/pause:" + hex.EncodeToString(sum[:6])
	if _, err := r.cli.ImageInspect(ctx, ref); err == nil {
		r.pauseRef = ref
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", err
	}
	resp, err := r.cli.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{`ENTRYPOINT ["/pause"]`, `LABEL ` + backendsManagedBy},
			Message: "batchctl's pause container: holds a pod's namespaces"})
	if err != nil {
		return "", fmt.Errorf("import the pause image: %w", err)
	}
	defer resp.Close()
	if err := importErrors(resp); err != nil {
		return "", fmt.Errorf("import the pause image: %w", err)
	}
	r.pauseRef = ref
	return ref, nil
}

// backendsManagedBy labels the pause image as batchctl's.
const backendsManagedBy = `app.kubernetes.io/managed-by=batchctl`

// importErrors reads an import's stream of progress messages, in which a
// failure is reported.
func importErrors(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
