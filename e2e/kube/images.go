//go:build linux

package kube

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"
)

// Images the real node has, imported from local files: no registry is
// reachable, so nothing is ever pulled; every pod uses them as present
// (imagePullPolicy IfNotPresent, see localImagesPolicy).
const (
	// BusyboxImage is Debian's static busybox with its applet links and CMD
	// ["sh"], like Docker Hub's busybox. It is also busybox:1.36, the image
	// the conformance suite's manifests name (backendtest), and busybox
	// (latest), which the local images policy lets pods use (see
	// localImagesPolicy).
	BusyboxImage = "batchctl.dev/test/busybox:1"
	// PauseImage holds each pod's namespaces (containerd's sandbox_image):
	// the static pause binary of e2e/kube/pause.
	PauseImage = "batchctl.dev/test/pause:1"
	// MissingImage is never present and cannot be pulled: its registry
	// refuses connections at once, so a pod naming it reports ErrImagePull,
	// then ImagePullBackOff, within a second.
	MissingImage = "127.0.0.1:1/batchctl/missing:1"
)

// busyboxTags are the names the busybox image is imported under.
var busyboxTags = []string{BusyboxImage, "docker.io/library/busybox:1.36", "docker.io/library/busybox:latest"}

// imageArchive is a `docker save` archive of one single-layer image, which
// `ctr images import` reads: manifest.json names the config and the layer,
// RepoTags the names to import it under.
func imageArchive(tags []string, config map[string]any, layer []byte) ([]byte, error) {
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config":       config,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	csum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(csum[:]) + ".json"
	layerName := hex.EncodeToString(sum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": tags, "Layers": []string{layerName}}})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{{cfgName, cfgJSON}, {layerName, layer}, {"manifest.json", manifest}} {
		if dir := path.Dir(f.name); dir != "." {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), tw.Close()
}

// layerWriter builds one image layer (a tar) with fixed times, so the same
// inputs give the same bytes.
type layerWriter struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error
}

func newLayer() *layerWriter {
	l := &layerWriter{}
	l.tw = tar.NewWriter(&l.buf)
	return l
}

func (l *layerWriter) add(h *tar.Header, body []byte) {
	if l.err != nil {
		return
	}
	h.ModTime, h.Format = time.Unix(0, 0), tar.FormatPAX
	if l.err = l.tw.WriteHeader(h); l.err == nil && body != nil {
		_, l.err = l.tw.Write(body)
	}
}

func (l *layerWriter) dir(name string, mode int64) {
	l.add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}, nil)
}

func (l *layerWriter) file(name string, mode int64, body []byte) {
	l.add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body)
}

func (l *layerWriter) bytes() ([]byte, error) {
	if l.err == nil {
		l.err = l.tw.Close()
	}
	return l.buf.Bytes(), l.err
}

// busyboxLayer is /bin/busybox, a link to it at each applet's usual path
// (as `busybox --list-full` names them), /tmp, and root's passwd and group.
func busyboxLayer(busybox string) ([]byte, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("busybox for the test image: %w (make k8s-tools unpacks Debian's busybox-static)", err)
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	dirs := map[string]bool{"bin": true, "dev": true, "etc": true, "proc": true, "root": true, "sys": true, "tmp": true, "var": true}
	var links []string
	for _, p := range strings.Fields(string(out)) {
		if p == "bin/busybox" {
			continue
		}
		links = append(links, p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	sort.Strings(links)
	l := newLayer()
	for _, d := range names {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		l.dir(d, mode)
	}
	l.file("bin/busybox", 0o755, bin)
	for _, p := range links {
		l.add(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777}, nil)
	}
	l.file("etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\n"))
	l.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	return l.bytes()
}

// pauseLayer is the pause binary alone, at /pause.
func pauseLayer(pause string) ([]byte, error) {
	bin, err := os.ReadFile(pause)
	if err != nil {
		return nil, fmt.Errorf("pause binary for the sandbox image: %w (make k8s-tools builds it)", err)
	}
	l := newLayer()
	l.file("pause", 0o755, bin)
	return l.bytes()
}

// testImages returns the archives to import: busybox under busyboxTags and
// the pause image.
func testImages(busybox, pause string) (map[string][]byte, error) {
	bb, err := busyboxLayer(busybox)
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	bbArchive, err := imageArchive(busyboxTags, map[string]any{"Cmd": []string{"sh"}, "Env": env}, bb)
	if err != nil {
		return nil, err
	}
	pl, err := pauseLayer(pause)
	if err != nil {
		return nil, err
	}
	pauseArchive, err := imageArchive([]string{PauseImage}, map[string]any{"Entrypoint": []string{"/pause"}, "Env": env}, pl)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"busybox.tar": bbArchive, "pause.tar": pauseArchive}, nil
}
