package pgstore

import (
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/store"
)

// TestProductMessagesRoundTrip: a product's message overrides are kept
// and read back as written (the record decoder is strict), and removing
// them leaves none.
func TestProductMessagesRoundTrip(t *testing.T) {
	b := open(t, pgtest.URL(t))
	p := store.Product{Code: "1AJS2", Name: "Lite"}
	if err := p.SetMessage("he", "refused.revoked", "הרישיון בוטל על ידי המפיץ."); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMessage("ru", "warning.check-within", "Проверьте лицензию в течение {days} дн."); err != nil {
		t.Fatal(err)
	}
	if err := b.AddProduct(p); err != nil {
		t.Fatal(err)
	}
	got, err := b.ProductByCode("1AJS2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Messages, p.Messages) {
		t.Fatalf("messages read back = %v, want %v", got.Messages, p.Messages)
	}
	got.UnsetMessage("he", "refused.revoked")
	got.UnsetMessage("ru", "warning.check-within")
	if err := b.UpdateProduct(got); err != nil {
		t.Fatal(err)
	}
	if got, err = b.ProductByCode("1AJS2"); err != nil || got.Messages != nil {
		t.Fatalf("after removing them: %v, %v", got.Messages, err)
	}
}
