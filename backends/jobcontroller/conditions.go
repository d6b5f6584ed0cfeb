package jobcontroller

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func (m *Machine) finished() bool {
	c := m.condition(batchv1.JobComplete)
	if c == nil {
		c = m.condition(batchv1.JobFailed)
	}
	return c != nil
}

// condition is the job's condition of type t with status True, or nil.
func (m *Machine) condition(t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range m.conditions {
		if c := &m.conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// ensureCondition is ensureJobConditionStatus: adds or updates a
// condition; a False one is never added from nothing.
func (m *Machine) ensureCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) bool {
	for i := range m.conditions {
		if c := &m.conditions[i]; c.Type == t {
			if c.Status == status && c.Reason == reason && c.Message == msg {
				return false
			}
			*c = *newCondition(t, reason, msg, now)
			c.Status = status
			return true
		}
	}
	if status == corev1.ConditionFalse {
		return false
	}
	m.conditions = append(m.conditions, *newCondition(t, reason, msg, now))
	return true
}

func newCondition(t batchv1.JobConditionType, reason, msg string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
		LastProbeTime: metaTime(now), LastTransitionTime: metaTime(now),
	}
}

// suspendCondition keeps the Suspended condition and its events; a suspend
// clears startTime, a resume sets it anew so the deadline counts again.
func (m *Machine) suspendCondition(now time.Time) bool {
	if m.suspended() {
		if !m.ensureCondition(batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now) {
			return false
		}
		m.event(now, "Normal", "Suspended", m.jobObject(), "Job suspended")
		m.startTime = nil
		return true
	}
	if !m.ensureCondition(batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now) {
		return false
	}
	m.event(now, "Normal", "Resumed", m.jobObject(), "Job resumed")
	m.startTime = timePtr(now)
	return true
}
