package adminapi

// OpTrialList lists the keyless trials started (the trial marks), for the
// operator: counted and visible.
var OpTrialList = Op[TrialQuery, TrialList]{"trial.list"}

// TrialQuery selects the trials of one product, or of every product when
// Product is empty.
type TrialQuery struct {
	Product string `json:"product,omitempty"`
}

// TrialList is the trials selected, oldest first, with how many there are
// and how many still run.
type TrialList struct {
	Trials  []Trial `json:"trials"`
	Count   int     `json:"count"`
	Running int     `json:"running"`
}

// Trial is one machine's trial of a product as the operator sees it: its
// license (id in hex: 'license show' takes it), the machine (the id
// 'license show' prints beside it), when it started and ends (Unix
// seconds), and whether it has ended.
type Trial struct {
	License  string `json:"license"`
	Product  string `json:"product"`
	Machine  string `json:"machine"`
	Hostname string `json:"hostname,omitempty"`
	Started  int64  `json:"started"`
	Ends     int64  `json:"ends"`
	Ended    bool   `json:"ended"`
}

// Trials returns the keyless trials of product (every product when empty).
func (c *Client) Trials(product string) (TrialList, error) {
	return Call(c, OpTrialList, TrialQuery{Product: product})
}
