package audit

// Who did something, as the customer whose account it concerns may know it:
// operators' names stay in the operators' audit log.
const (
	ByCustomer = "CUSTOMER"
	BySupport  = "SUPPORT"
	BySystem   = "SYSTEM"
	ByUnknown  = "UNKNOWN"
)

// ActivityBy returns who did r as its customer may know it: the customer,
// support staff (directly or assisting), the service itself, or someone
// unknown (not signed in).
func ActivityBy(r Record) string {
	switch r.ActorType {
	case ActorCustomer:
		return ByCustomer
	case ActorOperator:
		return BySupport
	case ActorSystem:
		return BySystem
	}
	return ByUnknown
}
