package model

// Owner is the package that writes a table, and the others allowed to,
// each with the reason it is allowed.
type Owner struct {
	// Package is the import path of the table's one writer.
	Package string
	// Also lists further writers by import path, each with why.
	Also map[string]string
}

// Owners names, for every table, the package that writes it: one owner per
// aggregate, so the rules about a table live in one place. The linter in
// model/ownercheck fails the build when any other package writes a table,
// and when a table is missing here. Reads are free: pages and dashboards
// keep their own queries (read models).
func Owners() map[string]Owner {
	const (
		store   = "realname/service/store"
		webhook = "realname/service/webhook/internal/whstore"
		admin   = "realname/service/admin"
		apikey  = "realname/service/apikey"
		pii     = "realname/service/pii" // the photo store: SQL is one of the places photos live
	)
	outbox := map[string]string{store: "the outbox: an event is written in the transaction of the change it announces"}
	// Tests seed audit chains their pages and checks read, as the store
	// writes them; the package is imported by tests only.
	fixtures := map[string]string{"realname/service/store/storetest": "test fixtures: chain events seeded as the store writes them"}
	return map[string]Owner{
		"users":               {Package: store},
		"verifications":       {Package: store, Also: fixtures},
		"verification_events": {Package: store, Also: fixtures},
		"event_texts":         {Package: store},
		"consents":            {Package: store},
		"id_bindings":         {Package: store},
		"face_checks":         {Package: store},
		"step_ups":            {Package: store},
		"provider_attempts":   {Package: store},
		"photos":              {Package: pii},
		"blob_journal":        {Package: store},
		"notifications":       {Package: store},
		"admin_users":         {Package: admin},
		"api_keys":            {Package: apikey},
		"api_key_uses":        {Package: apikey},
		"api_key_refusals":    {Package: apikey},
		"webhook_endpoints":   {Package: webhook},
		"webhook_events":      {Package: webhook, Also: outbox},
		"event_sequences":     {Package: webhook},
		"webhook_deliveries":  {Package: webhook},
		"webhook_attempts":    {Package: webhook},
	}
}
