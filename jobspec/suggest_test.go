package jobspec

import "testing"

func TestSuggest(t *testing.T) {
	fields := []string{"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "template", "suspend"}
	tests := []struct{ key, want string }{
		{"paralelism", "parallelism"},                   // one deletion
		{"Completions", "completions"},                  // case only
		{"completion", "completions"},                   // one insertion
		{"activeDeadlineSecs", "activeDeadlineSeconds"}, // 3 edits, long key
		{"backofLimit", "backoffLimit"},
		{"templates", "template"},
		{"colour", ""},       // nothing close
		{"tempest", ""},      // 4 edits from template: too many for 7 letters
		{"spend", "suspend"}, // two edits are always allowed
		{"x", ""},            // a one-letter key matches nothing
		{"", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.key, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance(kitten, sitting) = %d, want 3", d)
	}
}
