package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// manCommand writes batchctl's man pages, generated from the command
// definitions: batchctl(1) and one page per command, batchctl-submit(1),
// batchctl-config-view(1), ... The release build ships them (.goreleaser.yaml).
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Hidden: true,
		Usage:  "print the man page batchctl(1) as roff, or write every page into --dir",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "write batchctl.1 and batchctl-COMMAND.1 for every command into this directory"},
		},
		Action: action(func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("man: takes no arguments")
			}
			pages := manPages(newApp(registryOf(c), nil, io.Discard, io.Discard))
			dir := c.String("dir")
			if dir == "" {
				_, err := io.WriteString(c.App.Writer, pages[0].text)
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, p := range pages {
				if err := os.WriteFile(filepath.Join(dir, p.name), []byte(p.text), 0o644); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

type manPage struct{ name, text string }

// manPages renders app's pages, batchctl.1 first.
func manPages(app *cli.App) []manPage {
	globals := globalFlags(app)
	var cmds []cmdDoc
	var walk func(path []string, list []*cli.Command)
	walk = func(path []string, list []*cli.Command) {
		for _, cmd := range list {
			if cmd.Hidden || cmd.Name == "help" {
				continue
			}
			p := append(slices.Clone(path), cmd.Name)
			cmds = append(cmds, cmdDoc{path: p, cmd: cmd})
			walk(p, cmd.Subcommands)
		}
	}
	walk(nil, app.Commands)

	var b roff
	b.header("batchctl")
	b.section("NAME")
	b.line(roffEscape("batchctl - " + app.Usage))
	b.section("SYNOPSIS")
	b.line(`\fBbatchctl\fR [\fIGLOBAL OPTIONS\fR] \fICOMMAND\fR [\fIOPTIONS\fR] [\fIARGUMENTS\fR...]`)
	b.section("DESCRIPTION")
	b.text(app.Description)
	b.text("Flags may come before or after a command's arguments; the global options also before the command " +
		"(`batchctl --backend local list`). `batchctl COMMAND --help` prints a command's options.")
	b.section("COMMANDS")
	for _, d := range cmds {
		b.tagged(d.synopsis(), d.cmd.Usage+". See `"+d.pageName()+"(1)`.")
	}
	b.section("GLOBAL OPTIONS")
	b.text("Accepted by every command that talks to a backend, before or after the command.")
	b.flags(globals)
	b.exitCodes()
	b.seeAlso(cmds, nil)
	pages := []manPage{{"batchctl.1", b.String()}}

	for _, d := range cmds {
		var b roff
		b.header(d.pageName())
		b.section("NAME")
		b.line(roffEscape(d.pageName() + " - " + d.cmd.Usage))
		b.section("SYNOPSIS")
		b.line(d.synopsis())
		b.section("DESCRIPTION")
		if d.cmd.Usage != "" {
			b.text(strings.ToUpper(d.cmd.Usage[:1]) + d.cmd.Usage[1:] + ".")
		}
		if d.cmd.Description != "" {
			b.text(d.cmd.Description)
		}
		if len(d.cmd.Subcommands) > 0 {
			b.section("COMMANDS")
			for _, sub := range cmds {
				if len(sub.path) == len(d.path)+1 && slices.Equal(sub.path[:len(d.path)], d.path) {
					b.tagged(sub.synopsis(), sub.cmd.Usage+". See `"+sub.pageName()+"(1)`.")
				}
			}
		}
		own := slices.DeleteFunc(slices.Clone(d.cmd.Flags), func(f cli.Flag) bool { return lookupFlag(globals, f.Names()[0]) != nil })
		if len(own) > 0 {
			b.section("OPTIONS")
			b.flags(own)
		}
		if lookupFlag(d.cmd.Flags, "context") != nil {
			b.section("GLOBAL OPTIONS")
			b.text("As for every command that talks to a backend; they may also come before the command.")
			b.flags(globals)
		}
		if len(d.cmd.Subcommands) == 0 {
			b.exitCodes()
		}
		b.seeAlso(cmds, d.path)
		pages = append(pages, manPage{d.pageName() + ".1", b.String()})
	}
	return pages
}

// cmdDoc is a command and the names leading to it.
type cmdDoc struct {
	path []string
	cmd  *cli.Command
}

func (d cmdDoc) pageName() string { return "batchctl-" + strings.Join(d.path, "-") }

func (d cmdDoc) synopsis() string {
	s := `\fBbatchctl ` + roffEscape(strings.Join(d.path, " ")) + `\fR`
	if len(d.cmd.Subcommands) > 0 {
		return s + ` \fICOMMAND\fR`
	}
	if len(d.cmd.Flags) > 0 {
		s += ` [\fIOPTIONS\fR]`
	}
	if d.cmd.ArgsUsage != "" {
		s += ` \fI` + roffEscape(d.cmd.ArgsUsage) + `\fR`
	}
	return s
}

// roff builds a man page in the man(7) macros.
type roff struct{ strings.Builder }

func (b *roff) header(name string) {
	day := ""
	if len(date) >= 10 && date[4] == '-' && !strings.HasPrefix(date, "0001") { // a real commit date
		day = date[:10]
	}
	fmt.Fprintf(b, ".TH %s 1 %q %q \"User Commands\"\n", roffEscape(strings.ToUpper(name)), day, "batchctl "+version)
	b.WriteString(".nh\n") // no hyphenation: names and flags stay whole
}

func (b *roff) section(name string) { fmt.Fprintf(b, ".SH %q\n", name) }

// line writes one line of roff as is, guarding a leading control character.
func (b *roff) line(s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	b.WriteString(s + "\n")
}

// text writes help text as paragraphs: blank lines separate them, and a
// paragraph with indented lines (a table) keeps its layout.
func (b *roff) text(s string) {
	for _, para := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s), -1) {
		b.WriteString(".PP\n")
		lines := strings.Split(para, "\n")
		pre := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") })
		if pre {
			b.WriteString(".nf\n")
		}
		for _, l := range lines {
			b.line(roffInline(l))
		}
		if pre {
			b.WriteString(".fi\n")
		}
	}
}

// tagged writes a tagged paragraph: tag (roff) on its own line, then text.
func (b *roff) tagged(tag, text string) {
	b.WriteString(".TP\n")
	b.line(tag)
	b.line(roffInline(text))
}

func (b *roff) flags(flags []cli.Flag) {
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, `\fB\-`+roffEscape(n)+`\fR`)
			} else {
				names = append(names, `\fB\-\-`+roffEscape(n)+`\fR`)
			}
		}
		tag := strings.Join(names, ", ")
		usage := ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			usage = df.GetUsage()
			if df.TakesValue() {
				tag += ` \fIvalue\fR`
			}
		}
		if sf, ok := f.(*cli.StringFlag); ok && sf.Value != "" {
			usage += fmt.Sprintf(" (default: %s)", sf.Value)
		}
		b.tagged(tag, usage)
	}
}

func (b *roff) exitCodes() {
	b.section("EXIT CODES")
	b.WriteString(".PD 0\n")
	for _, l := range strings.Split(exitCodesHelp, "\n") {
		if m := regexp.MustCompile(`^\s+(\d+)\s+(.*)$`).FindStringSubmatch(l); m != nil {
			b.tagged(`\fB`+m[1]+`\fR`, m[2])
		}
	}
	b.WriteString(".PD\n")
}

// seeAlso lists the other pages: every command's from batchctl(1), the
// parent's and sub-commands' from a command's.
func (b *roff) seeAlso(cmds []cmdDoc, path []string) {
	var refs []string
	if path != nil {
		refs = append(refs, "batchctl(1)")
	}
	for _, d := range cmds {
		if path == nil && len(d.path) == 1 ||
			path != nil && len(d.path) == len(path)+1 && slices.Equal(d.path[:len(path)], path) {
			refs = append(refs, d.pageName()+"(1)")
		}
	}
	if len(refs) == 0 {
		return
	}
	for i, r := range refs {
		name, sec, _ := strings.Cut(r, "(")
		refs[i] = `\fB` + roffEscape(name) + `\fR(` + sec
	}
	b.section("SEE ALSO")
	b.line(strings.Join(refs, ", "))
}

// roffEscape makes plain text safe in roff: backslashes, and hyphens as
// \- so options copy and paste as typed.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffInline escapes help text, rendering `code` in bold.
func roffInline(s string) string {
	parts := strings.Split(roffEscape(s), "`")
	out := parts[0]
	for i := 1; i < len(parts); i++ {
		switch {
		case i%2 == 0:
			out += `\fR` + parts[i]
		case i+1 < len(parts):
			out += `\fB` + parts[i]
		default: // an unpaired backquote
			out += "`" + parts[i]
		}
	}
	return out
}
