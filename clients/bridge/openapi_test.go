package bridge

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

type openAPIDoc struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas   map[string]schema   `json:"schemas"`
		Responses map[string]response `json:"responses"`
	} `json:"components"`
}

type operation struct {
	RequestBody *struct {
		Content map[string]media `json:"content"`
	} `json:"requestBody"`
	Responses map[string]response `json:"responses"`
}

type response struct {
	Ref     string           `json:"$ref"`
	Content map[string]media `json:"content"`
}

type media struct {
	Schema  schema          `json:"schema"`
	Example json.RawMessage `json:"example"`
}

type schema struct {
	Ref        string                     `json:"$ref"`
	Properties map[string]json.RawMessage `json:"properties"`
	Example    json.RawMessage            `json:"example"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return doc
}

// TestOpenAPIRoutes: every route the server serves is in the document,
// and every path and method the document names is served.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var served, documented []string
	for _, rt := range Routes() {
		served = append(served, rt.Pattern())
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Fatalf("served %q\ndocumented %q", served, documented)
	}
}

// jsonFields returns the JSON names of the fields of struct type t.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestOpenAPISchemas: each schema's properties are exactly the JSON
// fields of the Go type the server decodes or encodes.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]reflect.Type{
		"OrderRequest": reflect.TypeFor[OrderRequest](), "Term": reflect.TypeFor[Term](),
		"OrderResponse": reflect.TypeFor[OrderResponse](), "License": reflect.TypeFor[License](),
		"Activation": reflect.TypeFor[Activation](), "HealthResponse": reflect.TypeFor[HealthResponse](),
		"Problem": reflect.TypeFor[Problem](), "Event": reflect.TypeFor[EventJSON](),
		"OfflineAnswerRequest": reflect.TypeFor[OfflineAnswerRequest](), "OfflineAnswerResponse": reflect.TypeFor[OfflineAnswerResponse](),
		"OfflineReleaseRequest": reflect.TypeFor[OfflineReleaseRequest](), "OfflineReleaseResponse": reflect.TypeFor[OfflineReleaseResponse](),
		"SeatResetRequest": reflect.TypeFor[SeatResetRequest](), "SeatResetResponse": reflect.TypeFor[SeatResetResponse](),
	}
	if len(doc.Components.Schemas) != len(types) {
		t.Errorf("%d schemas documented, %d types checked", len(doc.Components.Schemas), len(types))
	}
	for name, typ := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		slices.Sort(props)
		if want := jsonFields(typ); !slices.Equal(props, want) {
			t.Errorf("schema %s has %q, the Go type %q", name, props, want)
		}
	}
}

// strict decodes b into v as the server does, refusing unknown fields.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// TestOpenAPIExamples: the request examples are accepted by the server's
// decoding and checks; the answer examples decode, without unknown
// fields, into the types the server encodes.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]func() any{
		"OrderRequest": func() any { return new(OrderRequest) }, "Term": func() any { return new(Term) },
		"OrderResponse": func() any { return new(OrderResponse) }, "License": func() any { return new(License) },
		"HealthResponse": func() any { return new(HealthResponse) }, "Problem": func() any { return new(Problem) },
		"Event":                func() any { return new(EventJSON) },
		"OfflineAnswerRequest": func() any { return new(OfflineAnswerRequest) }, "OfflineAnswerResponse": func() any { return new(OfflineAnswerResponse) },
		"OfflineReleaseRequest": func() any { return new(OfflineReleaseRequest) }, "OfflineReleaseResponse": func() any { return new(OfflineReleaseResponse) },
		"SeatResetRequest": func() any { return new(SeatResetRequest) }, "SeatResetResponse": func() any { return new(SeatResetResponse) },
	}
	examples := 0
	check := func(where string, m media) {
		if len(m.Example) == 0 {
			return
		}
		ref := m.Schema.Ref
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		mk, ok := types[name]
		if !ok {
			t.Errorf("%s: an example of schema %q, which no type checks", where, ref)
			return
		}
		v := mk()
		if err := strict(m.Example, v); err != nil {
			t.Errorf("%s: the example does not decode into %s: %v", where, name, err)
			return
		}
		examples++
		switch v := v.(type) {
		case *OrderRequest:
			if _, _, err := v.check(time.Now()); err != nil {
				t.Errorf("%s: the server refuses the example: %v", where, err)
			}
		case *Term:
			if _, err := v.wireTerm(); err != nil {
				t.Errorf("%s: the server refuses the example term: %v", where, err)
			}
		case *SeatResetRequest:
			if msg := v.check(); msg != "" {
				t.Errorf("%s: the server refuses the example: %s", where, msg)
			}
		case *Problem:
			if !strings.HasPrefix(v.Type, problemURN) || v.Status < 400 || v.Title == "" || v.Detail == "" {
				t.Errorf("%s: the example problem is incomplete", where)
			}
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.RequestBody != nil {
				for ct, m := range op.RequestBody.Content {
					check(method+" "+path+" request "+ct, m)
				}
			}
			for code, r := range op.Responses {
				for ct, m := range r.Content {
					check(method+" "+path+" "+code+" "+ct, m)
				}
			}
		}
	}
	for name, r := range doc.Components.Responses {
		for ct, m := range r.Content {
			check("response "+name+" "+ct, m)
		}
	}
	if ev := doc.Components.Schemas["Event"].Example; len(ev) > 0 {
		check("schema Event", media{Schema: schema{Ref: "#/components/schemas/Event"}, Example: ev})
	}
	if examples < 10 {
		t.Fatalf("only %d examples checked", examples)
	}
}
