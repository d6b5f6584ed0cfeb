package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends/all"
)

func TestPermuteMovesGlobalFlagsAfterTheCommand(t *testing.T) {
	app := newApp(all.Registry(), strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"batchctl --backend local list", "batchctl list --backend local"},
		{"batchctl -n x status y", "batchctl status -n x y"},
		{"batchctl --context prod submit f.yaml -q", "batchctl submit --context prod -q f.yaml"},
		{"batchctl --namespace=x -b local logs j -f", "batchctl logs --namespace=x -b local -f j"},
		{"batchctl --config c.yaml config view -o json", "batchctl config view --config c.yaml -o json"},
		{"batchctl config --context p view", "batchctl config view --context p"},
		// A value that looks like a command is the flag's.
		{"batchctl -n list list", "batchctl list -n list"},
		// Not global, no command, an unknown one: left for urfave to report.
		{"batchctl --help", "batchctl --help"},
		{"batchctl --bogus list", "batchctl --bogus list"},
		{"batchctl -n x", "batchctl"},
		{"batchctl -n x sumbit f", "batchctl sumbit f"},
		{"batchctl -n x help list", "batchctl help list"},
		// One-letter flags grouped, the last taking a value.
		{"batchctl status j -wo json", "batchctl status -wo json j"},
	} {
		got, err := permute(app, strings.Fields(tc.in))
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("permute(%q) = %q, %v; want %q", tc.in, strings.Join(got, " "), err, tc.want)
		}
	}
}

func TestPermuteReportsAFlagWithoutItsValue(t *testing.T) {
	app := newApp(all.Registry(), strings.NewReader(""), io.Discard, io.Discard)
	for in, want := range map[string]string{
		"batchctl status slow -o":       "batchctl status: flag -o needs a value",
		"batchctl config view --config": "batchctl config view: flag --config needs a value",
		"batchctl --backend":            "batchctl: flag --backend needs a value",
	} {
		if _, err := permute(app, strings.Fields(in)); err == nil || err.Error() != want {
			t.Errorf("permute(%q): error %v, want %q", in, err, want)
		}
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"submit", "status", "wait", "logs", "describe", "list", "ls", "delete", "rm", "suspend", "resume", "render", "validate"}
	for typed, want := range map[string][]string{
		"sumbit":  {"submit"},
		"stauts":  {"status"},
		"lgos":    {"logs"},
		"delte":   {"delete"},
		"desc":    {"describe"},
		"resme":   {"resume"},
		"frobnic": nil,
		"x":       nil,
	} {
		if got := closest(typed, cmds); !slices.Equal(got, want) {
			t.Errorf("closest(%q) = %q, want %q", typed, got, want)
		}
	}
	flags := []string{"follow", "index", "container", "prefix", "backend", "namespace"}
	if got := closest("folow", flags); !slices.Equal(got, []string{"follow"}) {
		t.Errorf("closest(folow) = %q", got)
	}
}

// The -o values completion offers are those the command accepts: the
// formats in the flag's usage text, compared with the "(use ...)" list of
// the command's own error for a format it does not know.
func TestOutputCompletionMatchesTheCommand(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	app := newApp(all.Registry(), strings.NewReader(""), io.Discard, io.Discard)
	use := regexp.MustCompile(`unknown output format "csv" \(use ([a-z, ]+)\)`)
	checked := 0
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			p := append(slices.Clone(path), cmd.Name)
			walk(p, cmd.Subcommands)
			if lookupFlag(cmd.Flags, "output") == nil {
				continue
			}
			checked++
			offered := completeWords(t, append(slices.Clone(p), "-o", ""))
			args := append(append([]string{"batchctl"}, p...), "-o", "csv")
			switch {
			case strings.HasPrefix(cmd.ArgsUsage, "FILE"):
				args = append(args, "nosuch.yaml")
			case strings.HasPrefix(cmd.ArgsUsage, "NAME"):
				args = append(args, "nosuch")
			}
			var stderr bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr)
			m := use.FindStringSubmatch(stderr.String())
			if code != exitUsage || m == nil {
				t.Errorf("%s: exit %d, %q: no list of formats", strings.Join(args, " "), code, stderr.String())
				continue
			}
			accepted := strings.Split(m[1], ", ")
			slices.Sort(accepted)
			slices.Sort(offered)
			if !slices.Equal(accepted, offered) {
				t.Errorf("%s -o: completion offers %q, the command accepts %q", strings.Join(p, " "), offered, accepted)
			}
		}
	}
	walk(nil, app.Commands)
	if checked < 8 {
		t.Errorf("only %d commands with -o", checked)
	}
}

// completeWords runs a completion request for words (the last one is being
// completed) and returns the candidates.
func completeWords(t *testing.T, words []string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append(append([]string{"batchctl"}, words...), completionFlag)
	if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("%q: exit %d, stderr %q", args, code, stderr.String())
	}
	return strings.Fields(stdout.String())
}

func TestCompletionOffersFlagsAndValues(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"logs", "--f"}, []string{"--follow"}},
		{[]string{"logs", "-f", "--f"}, nil}, // given already
		{[]string{"--backend", "nomad", "wait", "--ti"}, []string{"--timeout"}},
		{[]string{"wait", "--backend", ""}, []string{"local", "k8s", "nomad"}},
		{[]string{"wait", "--backend="}, []string{"--backend=local", "--backend=k8s", "--backend=nomad"}},
		{[]string{"submit", "-qo", ""}, []string{"json", "yaml", "name", "table", "wide"}},
		{[]string{"delete", "--phase", "F"}, []string{"Failed"}},
		{[]string{"list", "--phase", "Failed,S"}, []string{"Failed,Succeeded"}},
		{[]string{"completion", "z"}, []string{"zsh"}},
		{[]string{"completion", "bash", ""}, nil},
		{[]string{"submit", "job.yaml", ""}, nil},
	} {
		if got := completeWords(t, tc.words); !slices.Equal(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

func TestManPages(t *testing.T) {
	pages := manPages(newApp(all.Registry(), nil, io.Discard, io.Discard))
	names := map[string]string{}
	for _, p := range pages {
		names[p.name] = p.text
		if !strings.HasPrefix(p.text, ".TH ") {
			t.Errorf("%s does not start with .TH", p.name)
		}
		for i, l := range strings.Split(p.text, "\n") {
			if strings.HasPrefix(l, "'") || strings.HasPrefix(l, ".") && !regexp.MustCompile(`^\.(TH|SH|PP|TP|nf|fi|nh|PD)\b`).MatchString(l) {
				t.Errorf("%s:%d: stray control line %q", p.name, i+1, l)
			}
		}
	}
	for _, want := range []string{"batchctl.1", "batchctl-submit.1", "batchctl-logs.1", "batchctl-config.1", "batchctl-config-view.1", "batchctl-completion.1"} {
		if names[want] == "" {
			t.Errorf("no page %s", want)
		}
	}
	if _, ok := names["batchctl-man.1"]; ok {
		t.Error("a page for the hidden man command")
	}
	main := names["batchctl.1"]
	for _, want := range []string{`.SH "GLOBAL OPTIONS"`, `\fB\-\-backend\fR, \fB\-b\fR \fIvalue\fR`, `.SH "EXIT CODES"`, `\fBbatchctl submit\fR`} {
		if !strings.Contains(main, want) {
			t.Errorf("batchctl.1 lacks %q", want)
		}
	}
	// A command's page lists its own options, and the global ones apart.
	submit := names["batchctl-submit.1"]
	opts, globals, _ := strings.Cut(submit, `.SH "GLOBAL OPTIONS"`)
	if !strings.Contains(opts, `\fB\-\-follow\fR`) || strings.Contains(opts, `\-\-backend`) || !strings.Contains(globals, `\-\-backend`) {
		t.Errorf("batchctl-submit.1 options:\n%s", submit)
	}
}
