package audit

// Who did something, as the customer whose account it concerns may know it:
// operators' names stay in the operators' audit log.
const (
	ByCustomer = "CUSTOMER"
	BySupport  = "SUPPORT"
	ByAdmin    = "ADMIN"
	BySystem   = "SYSTEM"
	ByUnknown  = "UNKNOWN"
)

// ActivityBy returns who did r as its customer may know it: the customer,
// support staff or an administrator (directly or assisting; admin reports
// whether an operator id is an ADMIN's), the service itself, or someone
// unknown (not signed in).
func ActivityBy(r Record, admin func(operatorID string) bool) string {
	switch r.ActorType {
	case ActorCustomer:
		return ByCustomer
	case ActorOperator:
		if admin != nil && admin(r.ActorID) {
			return ByAdmin
		}
		return BySupport
	case ActorSystem:
		return BySystem
	}
	return ByUnknown
}
