package store

import (
	"encoding/json"
	"fmt"
)

// termJSON is a Term as JSON carries it: the kind by name ("years",
// "months", "days", "perpetual", "default"), as every JSON interface of
// Tollgate names things.
type termJSON struct {
	Kind  json.RawMessage `json:"kind"`
	Value uint16          `json:"value,omitempty"`
}

// MarshalJSON writes the term as {"kind": "years", "value": 1}.
func (t Term) MarshalJSON() ([]byte, error) {
	kind, err := json.Marshal(t.Kind.String())
	if err != nil {
		return nil, err
	}
	return json.Marshal(termJSON{Kind: kind, Value: t.Value})
}

// UnmarshalJSON reads a term whose kind is a name, or the number records
// written before the kinds had names carry ({"kind": 1}). An unknown kind
// is an error.
func (t *Term) UnmarshalJSON(b []byte) error {
	var j termJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var name string
	var num uint8
	switch {
	case len(j.Kind) == 0:
		return fmt.Errorf("term: no kind")
	case json.Unmarshal(j.Kind, &name) == nil:
		k, ok := termKindNamed(name)
		if !ok {
			return fmt.Errorf("term: unknown kind %q (years, months, days, perpetual or default)", name)
		}
		t.Kind = k
	case json.Unmarshal(j.Kind, &num) == nil:
		if TermKind(num) > TermDays {
			return fmt.Errorf("term: unknown kind %d", num)
		}
		t.Kind = TermKind(num)
	default:
		return fmt.Errorf("term: kind %s is neither a name nor a number", j.Kind)
	}
	t.Value = j.Value
	return nil
}

// termKindNamed returns the kind whose name (TermKind.String) is name.
func termKindNamed(name string) (TermKind, bool) {
	for k := TermDefault; k <= TermDays; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
