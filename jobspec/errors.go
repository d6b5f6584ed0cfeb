package jobspec

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Error renders the compiler form "FILE:LINE:COL: FIELD: MSG"; the position is
// left out when unknown (Line 0) and the column when only the line is known.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Error is one FieldError per line.
func (e ErrorList) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find a single *FieldError inside the list.
func (e ErrorList) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}

// AsErrorList returns the ErrorList inside err, if there is one.
func AsErrorList(err error) (ErrorList, bool) {
	var list ErrorList
	if errors.As(err, &list) {
		return list, true
	}
	return nil, false
}

// sortErrors puts errors in document order (positionless ones first, as they
// concern the whole file) and drops exact duplicates, which aliases can produce.
func sortErrors(errs ErrorList) ErrorList {
	slices.SortStableFunc(errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return slices.CompactFunc(errs, func(a, b *FieldError) bool { return *a == *b })
}

// truncate shortens values quoted in messages.
func truncate(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// describeValue names a value for "got ..." messages: `string "x"`, `integer 3`.
func describeValue(kind, value string) string {
	if kind == "string" {
		return "string " + strconv.Quote(truncate(value))
	}
	return kind + " " + truncate(value)
}
