package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// stamp records in the job the manifest it is submitted with (see
// backends.StampSubmitted), in the Kubernetes object and the neutral model.
func stamp(job *jobspec.Job) error {
	if err := backends.StampSubmitted(job.Object); err != nil {
		return err
	}
	job.Annotations = maps.Clone(job.Object.Annotations)
	return nil
}

// submitIfExists submits job; when a job of its name exists, ifExists
// says what to do: fail (exit 6), attach to it if it was submitted with the
// same manifest, or replace it (delete, wait until gone, submit). verb says
// which happened, for the "job/NAME created" line.
func submitIfExists(ctx context.Context, b backends.Backend, job *jobspec.Job, ifExists string) (*backends.Status, string, error) {
	st, err := b.Submit(ctx, job)
	if err == nil || !errors.Is(err, backends.ErrAlreadyExists) || ifExists == "fail" || job.Name == "" {
		return st, "created", err
	}
	ref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	switch ifExists {
	case "replace":
		if err := b.Delete(ctx, ref); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return nil, "", err
		}
		if err := waitGone(ctx, b, ref, 0); err != nil {
			return nil, "", err
		}
		st, err := b.Submit(ctx, job)
		return st, "replaced", err
	}
	gone, err := sameSpec(ctx, b, job, ref)
	if gone { // deleted meanwhile: submit again
		st, err := b.Submit(ctx, job)
		return st, "created", err
	}
	if err != nil {
		return nil, "", err
	}
	st, err = b.Status(ctx, ref)
	return st, "attached (it exists with the same spec)", err
}

// sameSpec says whether the job ref, which exists, was submitted with
// job's manifest: nil when it was, gone when it no longer exists, else an
// ErrAlreadyExists naming the fields that differ.
func sameSpec(ctx context.Context, b backends.Backend, job *jobspec.Job, ref backends.Ref) (gone bool, err error) {
	m, ok := b.(backends.Manifester)
	if !ok {
		return false, exists(ref, "the "+b.Info().Name+" backend keeps no manifest to compare with")
	}
	old, err := m.Manifest(ctx, ref)
	if errors.Is(err, backends.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if old == nil {
		return false, exists(ref, "it was not submitted by batchctl, so whether it is the same job cannot be told")
	}
	if backends.SpecHash(old) != job.Object.Annotations[backends.SpecHashAnnotation] {
		diff := backends.ManifestDiff(old, job.Object)
		return false, exists(ref, "it was submitted with another spec:\n  "+strings.Join(diff, "\n  "))
	}
	return false, nil
}

func exists(ref backends.Ref, why string) error {
	return &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit", Ref: ref,
		Msg: fmt.Sprintf("job %s already exists; %s", ref.Name, why)}
}
