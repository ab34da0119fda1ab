// Package reasons holds what the packages that refuse a file share about
// their typed reason codes (validate, mediaroot, convert): a table from
// each reason to its sentinel error, and the one layout of a refusal's
// message, "<package>: <reason>: <found> (<cause>); <fix>".
//
// Each package keeps its own Reason type and constants, the one home of
// its codes; only the mechanics live here.
package reasons
