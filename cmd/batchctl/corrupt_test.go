package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["corrupt"] = corruptCmd }

// corruptCmd overwrites one file of a local job with random bytes, as a
// failing disk or a stray write would: `corrupt NAME state.json`, or of a
// local CronJob: `corrupt cronjob/NAME cronjob.json`.
func corruptCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: corrupt NAME FILE")
	}
	ts.Check(ts.Exec("batchctl", "status", "-o", "json", args[0]))
	var st struct{ UID string }
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &st))
	store := filepath.Join(ts.Getenv("XDG_STATE_HOME"), "batchctl")
	if strings.HasPrefix(args[0], "cronjob/") {
		store = filepath.Join(store, "cron")
	}
	path := filepath.Join(store, "jobs", st.UID, args[1])
	junk := make([]byte, 512)
	for i := range junk {
		junk[i] = byte(rand.IntN(256))
	}
	ts.Check(os.WriteFile(path, junk, 0o600))
}
