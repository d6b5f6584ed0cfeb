package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/config"
)

// Shell completion goes through urfave/cli's dynamic completion: the
// scripts run batchctl itself with the words typed so far, then
// completionFlag, and offer what it prints, one candidate a line. So the
// candidates never go stale: subcommands, the command's flags, flag values
// (-o formats, backends, contexts, namespaces, ...) and job names.
//
// urfave v2.27.7 wants the flag last, and drops the word being completed
// when it does not start with "-" — so "submit -o" could be the flag or a
// value for it — and a parse error during completion (a flag without its
// value, an unknown or partial one) dereferences a nil flag set. The scripts
// therefore always pass the word being completed, even empty, just before
// the flag; runCompletion takes it off, finds the command and passes
// urfave only that command's well-formed flags, and the command's
// BashComplete (completeArgs) answers from what runCompletion recorded.
const completionFlag = "--generate-bash-completion"

// completionKey holds the *completion of a completion request in
// cli.App.Metadata.
const completionKey = "completion"

// completionTimeout bounds what completion asks a backend (job names,
// namespaces): a slow or unreachable one offers nothing rather than hang the
// shell.
const completionTimeout = 2 * time.Second

// bashCompletion always passes the current word (bash splits --flag=value at
// "=": the "=" goes with the words before it).
const bashCompletion = `# batchctl bash completion: source <(batchctl completion bash)
# or save as /usr/share/bash-completion/completions/batchctl (or
# ~/.local/share/bash-completion/completions/batchctl).
_batchctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == "=" ]]; then
    words+=("=")
    cur=""
  fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _batchctl_complete batchctl
`

// zshCompletion works sourced and as an autoloaded _batchctl in $fpath.
const zshCompletion = `#compdef batchctl
# batchctl zsh completion: source <(batchctl completion zsh)
# or save as _batchctl in a directory of $fpath.
_batchctl() {
  local -a candidates
  candidates=("${(@f)$("${words[1]}" "${(@)words[2,CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  candidates=(${candidates:#})
  if (( ${#candidates} )); then
    compadd -Q -- "${candidates[@]}"
  else
    _files
  fi
}
if [[ "${funcstack[1]}" == "_batchctl" ]]; then
  _batchctl "$@"
else
  compdef _batchctl batchctl
fi
`

const fishCompletion = `# batchctl fish completion: batchctl completion fish | source
# or save as ~/.config/fish/completions/batchctl.fish
function __batchctl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l out ($tokens "$cur" --generate-bash-completion 2>/dev/null)
    if set -q out[1]
        printf '%s\n' $out
    else
        __fish_complete_path "$cur"
    end
end
complete -c batchctl -f -a '(__batchctl_complete)'
`

// completionScripts are the scripts by shell, and the file name each has in
// release archives (completion --dir).
var completionScripts = []struct{ shell, file, script string }{
	{"bash", "batchctl.bash", bashCompletion},
	{"zsh", "batchctl.zsh", zshCompletion},
	{"fish", "batchctl.fish", fishCompletion},
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  source <(batchctl completion bash)\n" +
			"zsh:   source <(batchctl completion zsh)   (after compinit)\n" +
			"fish:  batchctl completion fish | source\n" +
			"The scripts ask batchctl for candidates: commands, flags, flag values and job names.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "write every script into this directory (batchctl.bash, .zsh, .fish) instead"},
		},
		Action: action(func(c *cli.Context) error {
			if dir := c.String("dir"); dir != "" {
				if c.NArg() > 0 {
					return usagef("completion: --dir writes every script; name no shell")
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				for _, s := range completionScripts {
					if err := os.WriteFile(filepath.Join(dir, s.file), []byte(s.script), 0o644); err != nil {
						return err
					}
				}
				return nil
			}
			if c.NArg() > 1 {
				return usagef("completion: takes one shell, got %d arguments", c.NArg())
			}
			for _, s := range completionScripts {
				if s.shell == c.Args().First() {
					_, err := io.WriteString(c.App.Writer, s.script)
					return err
				}
			}
			return usagef("completion: want bash, zsh or fish, got %q", c.Args().First())
		}),
	}
}

// completion is one completion request, as runCompletion understood it.
type completion struct {
	cmd         *cli.Command // the command completed for; nil: batchctl itself
	leaf        bool         // cmd takes arguments, not subcommands
	flags       []cli.Flag   // the flags accepted where the word is
	cur         string       // the word completed, as the shell has it
	flag        cli.Flag     // non-nil: cur is (after inline) a value of this flag
	inline      string       // "--output=" when cur is "--output=VALUE" (zsh, fish)
	positionals []string     // the command's arguments before cur
	used        []string     // names of the flags given before cur
	values      map[string]string
	dashDash    bool // cur comes after "--": an argument, never a flag
}

// value is the part of cur that candidates complete: cur without inline.
func (cp *completion) value() string { return strings.TrimPrefix(cp.cur, cp.inline) }

// runCompletion answers a completion request: args ends with the word
// being completed, then completionFlag.
func runCompletion(ctx context.Context, app *cli.App, args []string) int {
	words := slices.Clone(args[1 : len(args)-1])
	cur := ""
	if len(words) > 0 {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	// bash splits "--output=js" into "--output", "=", "js".
	split := false
	for i := 0; i < len(words); i++ {
		if words[i] != "=" || i == 0 {
			continue
		}
		if i == len(words)-1 {
			words, split = words[:i], true // cur is the value after "="
			break
		}
		words = slices.Replace(words, i-1, i+2, words[i-1]+"="+words[i+1])
		i--
	}

	cp := &completion{cur: cur, values: map[string]string{}}
	// A flag waiting for its value is not part of the command line yet.
	var valueFor string
	if n := len(words); n > 0 && isFlagArg(words[n-1]) && !strings.Contains(words[n-1], "=") && !slices.Contains(words, "--") {
		if line, err := splitCommandLine(app, words[:n-1]); err == nil && (split || argTakesValue(flagsAt(app, line), words[n-1])) {
			valueFor, words = words[n-1], words[:n-1]
		}
	}
	line, err := splitCommandLine(app, words)
	if err != nil || line.unknown || (split && valueFor == "") {
		return exitOK
	}
	cp.cmd = line.cmd
	cp.leaf = line.cmd != nil && len(line.cmd.Subcommands) == 0
	cp.flags = flagsAt(app, line)
	routed := append([]string{args[0]}, line.path...)
	if cp.leaf {
		kept := cp.scan(append(slices.Clone(line.globals), line.rest...))
		routed = append(routed, kept...)
	} else {
		cp.scan(line.globals)
	}

	switch {
	case valueFor != "":
		cp.flag = lookupFlag(cp.flags, lastFlagName(valueFor))
	case isFlagArg(cur) && strings.Contains(cur, "=") && !cp.dashDash:
		name, _, _ := strings.Cut(cur, "=")
		cp.flag, cp.inline = lookupFlag(cp.flags, flagArgName(name)), name+"="
	}

	app.Metadata[completionKey] = cp
	app.ErrWriter = io.Discard
	defer func() { _ = recover() }() // a shell's <TAB> gets no candidates, not a crash
	_ = app.RunContext(ctx, append(routed, completionFlag))
	return exitOK
}

// flagsAt are the flags accepted at the end of line: its command's, or
// the global flags before a command is named.
func flagsAt(app *cli.App, line commandLine) []cli.Flag {
	if line.cmd != nil && len(line.cmd.Subcommands) == 0 {
		return line.cmd.Flags
	}
	return globalFlags(app)
}

// lastFlagName is the flag a flag argument waits a value for: "o" in "-qo".
func lastFlagName(a string) string {
	name := flagArgName(a)
	if !strings.HasPrefix(a, "--") && len(name) > 1 {
		return name[len(name)-1:]
	}
	return name
}

// scan records the flags and arguments in args, and returns the flags that
// parse cleanly for urfave: the accepted ones with their values.
func (cp *completion) scan(args []string) []string {
	var kept []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if cp.dashDash || !isFlagArg(a) {
			if a == "--" && !cp.dashDash {
				cp.dashDash = true
			} else {
				cp.positionals = append(cp.positionals, a)
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := lookupFlag(cp.flags, name)
		if f == nil {
			if argTakesValue(cp.flags, a) { // -qo json
				for _, r := range name {
					cp.used = append(cp.used, lookupFlag(cp.flags, string(r)).Names()...)
				}
				if i+1 < len(args) {
					kept = append(kept, a, args[i+1])
					i++
				}
			}
			continue
		}
		cp.used = append(cp.used, f.Names()...)
		given := []string{a}
		if takesValue(f) && !hasVal {
			if i+1 == len(args) {
				continue
			}
			i++
			val, hasVal = args[i], true
			given = append(given, val)
		}
		if parses(f, given) {
			kept = append(kept, given...)
		}
		if hasVal {
			for _, n := range f.Names() {
				cp.values[n] = val
			}
		}
	}
	return kept
}

// parses reports whether args (a flag and its value) parse for f: urfave
// v2.27.7 crashes completing after a flag with a bad value (--index x).
func parses(f cli.Flag, args []string) bool {
	set := flag.NewFlagSet("", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	return f.Apply(set) == nil && set.Parse(args) == nil
}

// completeArgs is every command's BashComplete: it prints the candidates
// for the request runCompletion recorded.
func completeArgs(c *cli.Context) {
	cp, _ := c.App.Metadata[completionKey].(*completion)
	if cp == nil {
		return
	}
	for _, s := range cp.candidates(c) {
		if strings.HasPrefix(s, cp.value()) {
			fmt.Fprintln(c.App.Writer, cp.inline+s)
		}
	}
}

func (cp *completion) candidates(c *cli.Context) []string {
	switch {
	case cp.flag != nil:
		return flagValues(c, cp, cp.flag)
	case (isFlagArg(cp.cur) || cp.cur == "-" || cp.cur == "--") && !cp.dashDash:
		return cp.flagNames()
	case !cp.leaf:
		var out []string
		cmds := c.App.Commands
		if cp.cmd != nil {
			cmds = cp.cmd.Subcommands
		}
		for _, cmd := range cmds {
			if !cmd.Hidden {
				out = append(out, cmd.Name)
			}
		}
		return out
	}
	usage := cp.cmd.ArgsUsage
	switch {
	case cp.cmd.Name == "use-context" && len(cp.positionals) == 0: // config use-context NAME
		return contextNames(cp.values["config"])
	case cp.cmd.Name == "set" && strings.HasPrefix(usage, "KEY"): // config set KEY VALUE
		return settingKeys(c, cp.positionals)
	case strings.HasPrefix(usage, "NAME") && lookupFlag(cp.flags, "context") != nil: // a job
		many := strings.HasPrefix(usage, "NAME...")
		if !many && len(cp.positionals) > 0 {
			return nil
		}
		return slices.DeleteFunc(jobNames(c, cp.value()), func(n string) bool { return slices.Contains(cp.positionals, n) })
	case len(cp.positionals) == 0 && isWordChoice(usage): // bash|zsh|fish
		return strings.Split(usage, "|")
	}
	return nil // files: the shell's own completion
}

// settingKeys completes `config set KEY VALUE`: the keys, then the values
// a key with choices takes.
func settingKeys(c *cli.Context, positionals []string) []string {
	var out []string
	for _, s := range registryOf(c).Settings() {
		switch {
		case len(positionals) == 0:
			out = append(out, s.Key)
		case len(positionals) == 1 && s.Key == positionals[0] && s.Type == config.Choice:
			out = append(out, s.Choices...)
		case len(positionals) == 1 && s.Key == positionals[0] && s.Type == config.Bool:
			out = append(out, "true", "false")
		}
	}
	if len(positionals) == 0 {
		out = append(out, "current-context")
	}
	return out
}

// isWordChoice tells an ArgsUsage listing literal words ("bash|zsh|fish")
// from placeholders ("FILE|-").
func isWordChoice(usage string) bool {
	return usage != "" && strings.Contains(usage, "|") && strings.IndexFunc(usage, func(r rune) bool {
		return r != '|' && r != '-' && !unicode.IsLower(r)
	}) < 0
}

// flagNames are the flags to offer for cur: long ones as --name, short ones
// as -n unless cur starts with "--"; not those given already, unless they
// repeat.
func (cp *completion) flagNames() []string {
	flags := slices.Clone(cp.flags)
	if lookupFlag(flags, "help") == nil {
		flags = append(flags, cli.HelpFlag)
	}
	var out []string
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		if sf, ok := f.(cli.DocGenerationSliceFlag); !(ok && sf.IsSliceFlag()) && slices.ContainsFunc(f.Names(), func(n string) bool { return slices.Contains(cp.used, n) }) {
			continue
		}
		for _, n := range f.Names() {
			switch {
			case len(n) > 1:
				out = append(out, "--"+n)
			case !strings.HasPrefix(cp.cur, "--"):
				out = append(out, "-"+n)
			}
		}
	}
	return out
}

// flagValues are the values to offer for f.
func flagValues(c *cli.Context, cp *completion, f cli.Flag) []string {
	name := f.Names()[0]
	switch name {
	case "output":
		if u, ok := f.(cli.DocGenerationFlag); ok {
			return formatsIn(u.GetUsage())
		}
	case "if-exists":
		return []string{"fail", "attach", "replace"}
	case "dry-run":
		return []string{dryRunClient, dryRunServer, dryRunNone}
	case "phase":
		return phaseList(cp.value())
	case "context":
		return contextNames(cp.values["config"])
	case backends.NamespaceKey:
		return namespaces(c)
	}
	for _, s := range registryOf(c).Settings() {
		if s.Flag != name {
			continue
		}
		switch s.Type {
		case config.Choice:
			return s.Choices
		case config.Bool:
			return []string{"true", "false"}
		}
	}
	return nil
}

// formatsIn picks the -o formats a command's usage text lists: the usage is
// what `--help` promises, so completion offers the same.
func formatsIn(usage string) []string {
	known := []string{outTable, outWide, outJSON, outYAML, outName, "text"}
	var out []string
	for _, w := range strings.FieldsFunc(usage, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if slices.Contains(known, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// phaseList completes a comma-separated --phase list: the phases not named
// yet, after those that are.
func phaseList(cur string) []string {
	done := cur[:strings.LastIndex(cur, ",")+1]
	var out []string
	for _, p := range []backends.Phase{backends.Pending, backends.Running, backends.Succeeded, backends.Failed} {
		if !slices.Contains(strings.Split(done, ","), string(p)) {
			out = append(out, done+string(p))
		}
	}
	return out
}

// contextNames are the contexts the config file defines. The file is found
// as config.Load finds it: --config, BATCHCTL_CONFIG, then
// $XDG_CONFIG_HOME/batchctl/config.yaml.
func contextNames(flag string) []string {
	path := flag
	if path == "" {
		path = os.Getenv("BATCHCTL_CONFIG")
	}
	if path == "" {
		dir := os.Getenv("XDG_CONFIG_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil
			}
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "batchctl", "config.yaml")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc struct {
		Contexts map[string]yaml.Node `yaml:"contexts"`
	}
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []string
	for name := range doc.Contexts {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// jobNames lists the jobs of the selected backend and namespace, or of
// every namespace as NAMESPACE/NAME once cur has a "/"; nothing on error or
// after completionTimeout.
func jobNames(c *cli.Context, cur string) []string {
	prefix := ""
	if strings.HasPrefix(cur, "job/") {
		prefix, cur = "job/", cur[len("job/"):]
	}
	qualified := strings.Contains(cur, "/")
	jobs, _ := listJobs(c, func(s settings) backends.ListOptions {
		return backends.ListOptions{Namespace: s.Namespace, AllNamespaces: qualified}
	})
	var out []string
	for _, st := range jobs {
		if qualified {
			out = append(out, prefix+st.Namespace+"/"+st.Name)
		} else {
			out = append(out, prefix+st.Name)
		}
	}
	return out
}

// namespaces are those the backend's jobs are in, and its default one:
// every backend can list them with one List call.
func namespaces(c *cli.Context) []string {
	jobs, info := listJobs(c, func(settings) backends.ListOptions {
		return backends.ListOptions{AllNamespaces: true}
	})
	var out []string
	if info.DefaultNamespace != "" {
		out = append(out, info.DefaultNamespace)
	}
	for _, st := range jobs {
		if st.Namespace != "" && !slices.Contains(out, st.Namespace) {
			out = append(out, st.Namespace)
		}
	}
	return out
}

// listJobs runs List on the backend c's settings select, giving up after
// completionTimeout whether or not the backend heeds its context.
func listJobs(c *cli.Context, opts func(settings) backends.ListOptions) ([]*backends.Status, backends.Info) {
	ctx, cancel := context.WithTimeout(c.Context, completionTimeout)
	defer cancel()
	type result struct {
		jobs []*backends.Status
		info backends.Info
	}
	done := make(chan result, 1)
	go func() {
		b, s, err := openBackend(c)
		if err != nil {
			done <- result{}
			return
		}
		defer b.Close()
		jobs, err := b.List(ctx, opts(s))
		if err != nil {
			jobs = nil
		}
		done <- result{jobs, b.Info()}
	}()
	select {
	case r := <-done:
		return r.jobs, r.info
	case <-ctx.Done():
		return nil, backends.Info{}
	}
}
