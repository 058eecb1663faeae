package service

import (
	"bytes"
	"testing"
)

// TestLeaseMessagesFollowCatalogue: the encoded overrides are kept per
// catalogue version, so a product's new texts reach the next lease signed
// after the update (and the cache does not hand out the old ones).
func TestLeaseMessagesFollowCatalogue(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	if b, err := s.leaseMessages("1AJS2"); err != nil || b != nil {
		t.Fatalf("a product without overrides: %x, %v", b, err)
	}
	p, err := s.st.ProductByCode("1AJS2")
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"Lizenz gesperrt.", "Die Lizenz ist gesperrt."} {
		if err := p.SetMessage("de", "refused.suspended", text); err != nil {
			t.Fatal(err)
		}
		if err := s.st.UpdateProduct(p); err != nil {
			t.Fatal(err)
		}
		want, err := p.LeaseMessages()
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second from the cache
			if b, err := s.leaseMessages("1AJS2"); err != nil || !bytes.Equal(b, want) {
				t.Fatalf("update %d: lease messages %x, %v; want %x", i+1, b, err, want)
			}
		}
	}
}
