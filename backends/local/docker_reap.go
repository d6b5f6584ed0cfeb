package local

import (
	"context"
	"fmt"
	"time"
)

// stopJob stops what job uid's dead supervisor left running, as the job's
// runtime ran it: processes (exec: their jails and process groups, from
// pods) or containers and volumes (docker: every one labelled with the
// job's uid, on the daemon its record names). A failure to reach the
// daemon is noted in the job's supervisor.log; nothing else can be done.
func (s *store) stopJob(uid string, pods []podRef) {
	if rec, err := s.readRecord(uid); err == nil && rec.Plan.Runtime == RuntimeDocker {
		ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
		defer cancel()
		cli, err := dockerClient(rec.Plan.Docker)
		if err == nil {
			err = reapDocker(ctx, cli, uid)
			cli.Close()
		}
		if err != nil {
			writeLog(s.logFile(uid, supervisorLog), fmt.Sprintf("%s batchctl: removing the job's containers: %v\n", time.Now().Format(time.RFC3339), err))
		}
	}
	stopSurvivors(uid, pods)
}
