package rag

// Doc is one help-centre article of the built-in knowledge base.
type Doc struct {
	ID    string
	Title string
	Text  string
}

// DataSource is the gen_ai.data_source.id of the built-in knowledge base.
const DataSource = "acme-help"

// Corpus is the knowledge base the fake vector store searches.
var Corpus = []Doc{
	{"kb-shipping", "Shipping times",
		"Hardware orders ship within 2 business days. Standard delivery takes 3 to 5 days; express delivery takes 1 day. Shipping is free for orders over 50 dollars."},
	{"kb-password-reset", "Resetting your password",
		"To reset your password, click Forgot password on the sign-in page and follow the link in the email. Reset links expire after 1 hour."},
	{"kb-rate-limits", "API rate limits",
		"The API allows 600 requests per minute per key. When you exceed the limit the API answers 429 Too Many Requests with a Retry-After header. Enterprise plans can raise the limit."},
	{"kb-pricing", "Plans and pricing",
		"The Starter plan costs 10 dollars per month, the Team plan costs 25 dollars per user per month, and Enterprise pricing is custom. Every plan starts with a 14 day free trial."},
	{"kb-refunds", "Refund policy",
		"You can request a refund within 30 days of purchase. Refunds are issued to the original payment method within 5 business days. Annual subscriptions are refunded pro rata."},
	{"kb-data-export", "Exporting your data",
		"Workspace owners can export all data as CSV or JSON from Settings, Export. Exports of large workspaces are emailed as a download link."},
	{"kb-sso", "Single sign-on",
		"Team and Enterprise plans support single sign-on with SAML 2.0 and OpenID Connect. Configure SSO under Settings, Security, then verify your domain."},
	{"kb-support-hours", "Support hours",
		"Support is available by chat and email Monday to Friday, 8:00 to 18:00 CET. Enterprise customers also get a 24/7 phone line."},
	{"kb-account-deletion", "Deleting your workspace",
		"Owners can delete a workspace under Settings, Danger zone. Deleted data is kept for 30 days and then erased permanently."},
	{"kb-two-factor", "Two-factor authentication",
		"Enable two-factor authentication under Profile, Security with an authenticator app. Recovery codes let you sign in if you lose your phone."},
}

// GroundTruth maps a question (as asked) to the ids of the documents that
// answer it. Answer records them on its spans as llmcheck.relevant_ids, so
// retrieval hit rate, MRR and recall can be checked from the traces.
var GroundTruth = map[string][]string{
	"How long do I have to request a refund?":           {"kb-refunds"},
	"When will my refund arrive?":                       {"kb-refunds"},
	"How long does standard delivery take?":             {"kb-shipping"},
	"Is shipping free?":                                 {"kb-shipping"},
	"How do I reset my password?":                       {"kb-password-reset"},
	"When does a password reset link expire?":           {"kb-password-reset"},
	"How many API requests per minute are allowed?":     {"kb-rate-limits"},
	"Why did the API answer 429 Too Many Requests?":     {"kb-rate-limits"},
	"How much does the Team plan cost?":                 {"kb-pricing"},
	"Is there a free trial?":                            {"kb-pricing"},
	"How can I export my data as CSV?":                  {"kb-data-export"},
	"Do you support SAML single sign-on?":               {"kb-sso"},
	"When is support available?":                        {"kb-support-hours"},
	"Is there a phone line for enterprise customers?":   {"kb-support-hours"},
	"How do I delete my workspace?":                     {"kb-account-deletion"},
	"How do I enable two-factor authentication?":        {"kb-two-factor"},
	"I lost my phone, how do I sign in?":                {"kb-two-factor"},
	"What does the Starter plan cost per month?":        {"kb-pricing"},
	"Can I get my money back if I cancel my plan?":      {"kb-refunds"},
	"Which plans can verify a domain for SSO sign-ins?": {"kb-sso"},
}
