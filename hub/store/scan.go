package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// The scanners below read the columns whose Go value differs by driver:
// times are TEXT in SQLite and TIMESTAMPTZ in PostgreSQL; JSON is TEXT.

// timeCol scans a NOT NULL time (NULL reads as the zero time).
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.p = time.Time{}
		return nil
	}
	*c.p = t
	return nil
}

// timePtrCol scans an optional time.
type timePtrCol struct{ p **time.Time }

func (c timePtrCol) Scan(src any) error {
	t, ok, err := parseTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.p = nil
		return nil
	}
	*c.p = &t
	return nil
}

func parseTime(src any) (time.Time, bool, error) {
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		return parseTimeText(v)
	case []byte:
		return parseTimeText(string(v))
	}
	return time.Time{}, false, fmt.Errorf("store: cannot read %T as a time", src)
}

func parseTimeText(s string) (time.Time, bool, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: bad stored time: %w", err)
	}
	return t.UTC(), true, nil
}

// stringsCol scans a JSON array of strings; an empty array reads as nil.
type stringsCol struct{ p *[]string }

func (c stringsCol) Scan(src any) error {
	var v []string
	if err := unmarshalCol(src, &v); err != nil {
		return err
	}
	if len(v) == 0 {
		v = nil
	}
	*c.p = v
	return nil
}

// jsonCol scans a JSON document into v; NULL leaves v as it is.
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error { return unmarshalCol(src, c.v) }

func unmarshalCol(src, v any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("store: cannot read %T as JSON", src)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("store: bad stored JSON: %w", err)
	}
	return nil
}

// jsonStrings encodes a list of strings; nil is stored as [].
func jsonStrings(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

// jsonOrNull encodes v, or NULL when v is nil.
func jsonOrNull[T any](v *T) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// nullIfEmpty stores "" as NULL, for optional unique columns.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// notNilBytes stores nil as an empty value for NOT NULL byte columns.
func notNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
