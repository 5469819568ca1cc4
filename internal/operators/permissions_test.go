package operators

import (
	"slices"
	"testing"
)

func TestGrantTable(t *testing.T) {
	supportGrants := []Permission{PermSearchCustomers, PermViewCustomer, PermResetPassword, PermRemoteAssist, PermEditCustomer}
	adminOnly := []Permission{PermSetAccountStatus, PermViewAuditLog, PermManageOperators, PermEndAnyAssist, PermUsePlayground, PermDeleteCustomer, PermManageDomain}
	tests := []struct {
		perm           Permission
		support, admin bool
	}{
		{PermSearchCustomers, true, true},
		{PermViewCustomer, true, true},
		{PermResetPassword, true, true},
		{PermRemoteAssist, true, true},
		{PermEditCustomer, true, true},
		{PermSetAccountStatus, false, true},
		{PermViewAuditLog, false, true},
		{PermManageOperators, false, true},
		{PermEndAnyAssist, false, true},
		{PermUsePlayground, false, true},
		{PermDeleteCustomer, false, true},
		{PermManageDomain, false, true},
		{"ROOT_SHELL", false, false}, // deny by default
		{"search_customers", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.perm), func(t *testing.T) {
			for _, rc := range []struct {
				role Role
				want bool
			}{{RoleSupport, tt.support}, {RoleAdmin, tt.admin}, {"ROOT", false}, {"admin", false}, {"", false}} {
				if got := Can(rc.role, tt.perm); got != rc.want {
					t.Errorf("Can(%q, %s) = %v, want %v", rc.role, tt.perm, got, rc.want)
				}
			}
		})
	}

	// SUPPORT gets exactly its five, in order; ADMIN gets them, then the
	// admin-only ones.
	if got := Permissions(RoleSupport); !slices.Equal(got, supportGrants) {
		t.Errorf("Permissions(SUPPORT) = %v, want %v", got, supportGrants)
	}
	admin := Permissions(RoleAdmin)
	if want := append(slices.Clone(supportGrants), adminOnly...); !slices.Equal(admin, want) {
		t.Errorf("Permissions(ADMIN) = %v, want %v", admin, want)
	}
	// Can and Permissions agree on everything either role has.
	for _, role := range []Role{RoleSupport, RoleAdmin} {
		for _, p := range admin {
			if Can(role, p) != slices.Contains(Permissions(role), p) {
				t.Errorf("Can(%s, %s) disagrees with Permissions(%s)", role, p, role)
			}
		}
	}
	if got := Permissions("ROOT"); len(got) != 0 {
		t.Errorf("Permissions(ROOT) = %v, want none", got)
	}
}

func TestPermissionsReturnsACopy(t *testing.T) {
	got := Permissions(RoleSupport)
	got[0] = PermManageOperators
	_ = append(got[:1], PermViewAuditLog)
	if Can(RoleSupport, PermManageOperators) || Can(RoleSupport, PermViewAuditLog) || !Can(RoleSupport, PermSearchCustomers) {
		t.Fatal("changing what Permissions returned changed the grant table")
	}
	if !slices.Equal(Permissions(RoleAdmin), Permissions(RoleAdmin)) {
		t.Fatal("Permissions(ADMIN) changes order between calls")
	}
}

func TestValidRole(t *testing.T) {
	for _, tt := range []struct {
		role Role
		want bool
	}{{RoleSupport, true}, {RoleAdmin, true}, {"ROOT", false}, {"admin", false}, {"", false}} {
		if got := ValidRole(tt.role); got != tt.want {
			t.Errorf("ValidRole(%q) = %v, want %v", tt.role, got, tt.want)
		}
	}
}
