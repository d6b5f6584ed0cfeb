package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/backends/all"
)

func TestPermuteArgsMovesFlagsBeforePositionals(t *testing.T) {
	app := newApp(all.Registry(), strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"batchctl submit job.yaml --backend k8s", "batchctl submit --backend k8s job.yaml"},
		{"batchctl submit job.yaml -q --wait", "batchctl submit -q --wait job.yaml"},
		{"batchctl submit - --env A=1 -e B=2", "batchctl submit --env A=1 -e B=2 -"},
		{"batchctl logs x --index 2 -f", "batchctl logs --index 2 -f x"},
		{"batchctl config view --config c.yaml", "batchctl config view --config c.yaml"},
		{"batchctl status x -- -odd", "batchctl status x -- -odd"},
		{"batchctl status --output=json x", "batchctl status --output=json x"},
		{"batchctl nosuch a -b", "batchctl nosuch a -b"},
	} {
		got := strings.Join(permuteArgs(app, strings.Fields(tc.in)), " ")
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("permuteArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
