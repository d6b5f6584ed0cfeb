//go:build unix

package dockerd

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"
)

// Test images, imported from a rootfs of a static busybox and its applet
// links: nothing is ever pulled, so tests need no registry.
const (
	// BusyboxImage has busybox's applets and CMD ["sh"], like Docker Hub's busybox.
	BusyboxImage = "batchctl.dev/test/busybox:1"
	// EntrypointImage prints "entrypoint cmd" when run as is: its ENTRYPOINT
	// prints "entrypoint" and its arguments, its CMD is ["cmd"], so a test
	// sees which of the two a container's command and args replaced. It
	// runs for half a second, as Nomad's docker driver may not collect the
	// output of a container that exits at once (hashicorp/nomad#6931).
	EntrypointImage = "batchctl.dev/test/entrypoint:1"
)

// Image is one test image.
type Image struct {
	Ref     string   // repo:tag
	Changes []string // Dockerfile instructions, as `docker import --change`
	Aliases []string // more repo:tag names for the same image
}

// Images are what EnsureImages provides. BusyboxImage is also busybox:1.36,
// the image the conformance suite's manifests name (backendtest).
var Images = []Image{
	{Ref: BusyboxImage, Changes: []string{`CMD ["sh"]`}, Aliases: []string{"busybox:1.36"}},
	{Ref: EntrypointImage, Changes: []string{`ENTRYPOINT ["/bin/sh", "-c", "sleep 0.5; echo entrypoint \"$@\"", "entrypoint"]`, `CMD ["cmd"]`}},
}

// rootfsLabel holds the digest of an image's rootfs and changes, so that
// a changed busybox or image definition is imported again.
const rootfsLabel = "batchctl.dev/rootfs"

// EnsureImages imports each of Images that the daemon lacks or has from a
// different rootfs or changes, and tags the aliases.
func (d *Daemon) EnsureImages(ctx context.Context, busybox string) error {
	start := time.Now()
	rootfs, err := busyboxRootfs(busybox)
	if err != nil {
		return err
	}
	imported := 0
	for _, im := range Images {
		h := sha256.New()
		h.Write(rootfs)
		for _, c := range im.Changes {
			fmt.Fprintf(h, "\x00%s", c)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		var got struct {
			Config struct{ Labels map[string]string }
		}
		err := d.Do(ctx, "GET", "/images/"+im.Ref+"/json", nil, &got)
		var apiErr *APIError
		switch {
		case err == nil && got.Config.Labels[rootfsLabel] == sum:
		case err == nil || errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			changes := append(im.Changes[:len(im.Changes):len(im.Changes)], fmt.Sprintf("LABEL %s=%s", rootfsLabel, sum))
			if err := d.importImage(ctx, im.Ref, changes, rootfs); err != nil {
				return err
			}
			imported++
		default:
			return err
		}
		for _, alias := range im.Aliases {
			repo, tag := splitRef(alias)
			q := url.Values{"repo": {repo}, "tag": {tag}}
			if err := d.Do(ctx, "POST", "/images/"+im.Ref+"/tag?"+q.Encode(), nil, nil); err != nil {
				return err
			}
		}
	}
	if imported > 0 {
		// Earlier builds of the images are left untagged: drop them.
		q := url.Values{"filters": {`{"dangling":{"true":true}}`}}
		if err := d.Do(ctx, "POST", "/images/prune?"+q.Encode(), nil, nil); err != nil {
			return err
		}
		d.logf("imported %d test images in %s", imported, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// importImage is `docker import --change ... - ref` with rootfs as input.
func (d *Daemon) importImage(ctx context.Context, ref string, changes []string, rootfs []byte) error {
	repo, tag := splitRef(ref)
	q := url.Values{"fromSrc": {"-"}, "repo": {repo}, "tag": {tag}, "changes": changes}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://docker/images/create?"+q.Encode(), bytes.NewReader(rootfs))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := d.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer resp.Body.Close()
	// A 200 answer is a stream of progress messages; failures are in it.
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct{ Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("import %s: %s: %w", ref, resp.Status, err)
		} else if m.Error != "" {
			return fmt.Errorf("import %s: %s", ref, m.Error)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("import %s: %s", ref, resp.Status)
	}
	return nil
}

func splitRef(ref string) (repo, tag string) {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// busyboxRootfs is a tar of /bin/busybox, a link to it at each applet's
// usual path (as `busybox --list-full` names them), /tmp, and root's
// passwd and group entries. It is the same bytes for the same busybox.
func busyboxRootfs(busybox string) ([]byte, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("busybox for the test images: %w (make docker-tools fetches busybox-static)", err)
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	dirs := map[string]bool{"bin": true, "dev": true, "etc": true, "proc": true, "root": true, "sys": true, "tmp": true}
	var links []string
	for _, p := range strings.Fields(string(out)) {
		if p == "bin/busybox" {
			continue
		}
		links = append(links, p)
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			dirs[dir] = true
		}
	}
	var names []string
	for dir := range dirs {
		names = append(names, dir)
	}
	sort.Strings(names)
	sort.Strings(links)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	add := func(h *tar.Header, body []byte) {
		h.ModTime, h.Format = epoch, tar.FormatPAX
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil && body != nil {
			_, err = tw.Write(body)
		}
	}
	for _, dir := range names {
		mode := int64(0o755)
		if dir == "tmp" {
			mode = 0o1777
		}
		add(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: mode}, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, p := range links {
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777}, nil)
	}
	for _, f := range [][2]string{{"etc/group", "root:x:0:\n"}, {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"}} {
		add(&tar.Header{Typeflag: tar.TypeReg, Name: f[0], Mode: 0o644, Size: int64(len(f[1]))}, []byte(f[1]))
	}
	if err == nil {
		err = tw.Close()
	}
	return buf.Bytes(), err
}
