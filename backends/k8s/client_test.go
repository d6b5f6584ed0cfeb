package k8s

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batchctl/batchctl/backends"
)

// The REST clients build the paths, parameters and bodies the clientset
// did, their errors still classify, and the trace sees every request.
// No cluster needed: a stub API server answers in JSON.
func TestRESTClientsAgainstStubServer(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A body, DeleteOptions, goes as protobuf like the clientset's.
		body, _ := io.ReadAll(r.Body)
		desc := r.Method + " " + r.URL.RequestURI()
		if len(body) > 0 {
			desc += " " + r.Header.Get("Content-Type")
			for _, s := range []string{"DeleteOptions", "Background"} {
				if bytes.Contains(body, []byte(s)) {
					desc += " " + s
				}
			}
		}
		mu.Lock()
		reqs = append(reqs, desc)
		mu.Unlock()
		if got := r.Header.Get("User-Agent"); got != "batchctl" {
			t.Errorf("%s %s: User-Agent %q", r.Method, r.URL, got)
		}
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.kubernetes.protobuf") {
			t.Errorf("%s %s: Accept %q, want protobuf first as the clientset asked", r.Method, r.URL, r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /apis/batch/v1/namespaces/default/jobs/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,
				"message":"jobs.batch \"missing\" not found","details":{"name":"missing","group":"batch","kind":"jobs"}}`)
		case "GET /apis/batch/v1/namespaces/default/jobs/x":
			io.WriteString(w, `{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"x","namespace":"default","uid":"u1"},
				"status":{"conditions":[{"type":"Complete","status":"True"}],"succeeded":1}}`)
		case "GET /apis/batch/v1/jobs":
			io.WriteString(w, `{"kind":"JobList","apiVersion":"batch/v1","metadata":{},"items":[
				{"metadata":{"name":"b","namespace":"ns2"}},{"metadata":{"name":"a","namespace":"ns1"}}]}`)
		case "DELETE /apis/batch/v1/namespaces/default/jobs/x":
			io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+srv.URL+`"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	b, err := Open(Options{Kubeconfig: kubeconfig, Trace: true}, &trace)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := b.Status(ctx, backends.Ref{Name: "missing"}); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("Status of a missing job: %v, want not found", err)
	}
	st, err := b.Status(ctx, backends.Ref{Name: "x"})
	if err != nil || st.Phase != backends.Succeeded || st.UID != "u1" {
		t.Errorf("Status: %+v, %v; want the decoded, succeeded job", st, err)
	}
	list, err := b.List(ctx, backends.ListOptions{AllNamespaces: true})
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[0].Namespace != "ns1" {
		t.Errorf("List: %+v, %v; want a and b across namespaces, sorted", list, err)
	}
	if err := b.Delete(ctx, backends.Ref{Name: "x"}); err != nil {
		t.Errorf("Delete: %v", err)
	}
	b.Close()

	want := []string{
		"GET /apis/batch/v1/namespaces/default/jobs/missing",
		"GET /apis/batch/v1/namespaces/default/jobs/x",
		"GET /apis/batch/v1/jobs?labelSelector=" + strings.ReplaceAll(backends.ManagedByLabel, "/", "%2F") + "%3D" + backends.ManagedByValue,
		"DELETE /apis/batch/v1/namespaces/default/jobs/x application/vnd.kubernetes.protobuf DeleteOptions Background",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(reqs, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(want, "\n"))
	}
	if got, wantTrace := trace.String(), "k8s: 4 API requests: DELETE jobs=1, GET jobs=3\n"; got != wantTrace {
		t.Errorf("trace %q, want %q", got, wantTrace)
	}
}
