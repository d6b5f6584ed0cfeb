//go:build linux

package jobdiff

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
)

// The scripted pod program: every container of a local run is this test
// binary again, told by these variables (set in the container's env) which
// scenario it plays.
const (
	envScenario  = "JOBDIFF_SCENARIO"  // the scenario file
	envStarts    = "JOBDIFF_STARTS"    // directory of start counters
	envContainer = "JOBDIFF_CONTAINER" // the container's name
	envIndex     = "JOB_COMPLETION_INDEX"
)

// MaybeRunPod plays one container start and exits when this process was
// started as a scripted container; otherwise it returns at once. TestMain
// calls it first (after local.MaybeSupervise).
func MaybeRunPod() {
	path, ok := os.LookupEnv(envScenario)
	if !ok {
		return
	}
	code, err := runPod(path, os.Getenv(envStarts), os.Getenv(envContainer), os.Getenv(envIndex))
	if err != nil {
		fmt.Fprintln(os.Stderr, "jobdiff pod:", err)
		os.Exit(128)
	}
	os.Exit(code)
}

func runPod(path, dir, container, indexEnv string) (int, error) {
	sc, err := scenario.Load(path)
	if err != nil {
		return 0, err
	}
	var index *int32
	if sc.Indexed() {
		i, err := strconv.ParseInt(indexEnv, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %v", envIndex, indexEnv, err)
		}
		i32 := int32(i)
		index = &i32
	}
	start, err := claimStart(dir, scenario.IndexKey(index), container)
	if err != nil {
		return 0, err
	}
	eff := sc.Behaviour(index, start, container)
	fmt.Printf("jobdiff pod: index %s container %s start %d: %v\n", scenario.IndexKey(index), container, start, eff)
	if eff.IgnoreSigterm {
		signal.Ignore(syscall.SIGTERM)
	}
	// Otherwise SIGTERM keeps its default action: the process dies of it,
	// which the backend reports as 143, as a container runtime does.
	switch {
	case eff.Hang:
		for {
			time.Sleep(time.Hour)
		}
	case eff.Evict:
		// Nothing here can evict a pod; die as the kill would leave it.
		time.Sleep(eff.After)
		return 137, nil
	}
	time.Sleep(eff.After)
	return int(eff.Exit), nil
}

// claimStart numbers this start of container at index: the first counter
// file this process manages to create exclusively.
func claimStart(dir, index, container string) (int, error) {
	if index == scenario.NonIndexedKey {
		index = "x"
	}
	for n := 0; ; n++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%s.%d", index, container, n)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			return n, f.Close()
		}
		if !errors.Is(err, os.ErrExist) {
			return 0, err
		}
	}
}
