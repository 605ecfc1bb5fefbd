package cache

import "testing"

func TestVerifiedMarks(t *testing.T) {
	const quota, role = "ResourceQuota/v-prod/tenantry-compute", "ClusterRole/tenantry:tenant:v"
	var v Verified
	if v.InSync("v", quota, "10", "h1") {
		t.Fatal("nothing marked yet")
	}
	v.Mark("v", quota, "10", "h1")
	v.Mark("v", role, "11", "h1/v-prod")
	inSync := v.Lookup("v")
	for _, c := range []struct {
		name, key, rv, inputs string
		want                  bool
	}{
		{"same version, same inputs", quota, "10", "h1", true},
		{"a newer version", quota, "12", "h1", false},
		{"new inputs (a new effective spec)", quota, "10", "h2", false},
		{"another object", "ResourceQuota/v-dev/tenantry-compute", "10", "h1", false},
		{"ClusterRole, same namespaces", role, "11", "h1/v-prod", true},
		{"ClusterRole, other namespaces", role, "11", "h1/v-prod,v-dev", false},
	} {
		if got := inSync(c.key, c.rv, c.inputs); got != c.want {
			t.Errorf("%s: inSync = %v, want %v", c.name, got, c.want)
		}
	}
	if v.InSync("w", quota, "10", "h1") {
		t.Fatal("marks are per tenant")
	}
	// Known: the operator's own version, whatever inputs it was checked for.
	if !v.Known("v", quota, "10") || v.Known("v", quota, "12") || v.Known("w", quota, "10") || v.Known("v", "ResourceQuota/v-dev/tenantry-compute", "10") {
		t.Fatal("Known must hold for the marked version of that object of that tenant only")
	}
	v.Mark("v", quota, "", "h1") // an apply whose response carried no version marks nothing
	if !v.InSync("v", quota, "10", "h1") {
		t.Fatal("an empty version replaced a mark")
	}
	if !v.Remembers("v") || v.Remembers("w") {
		t.Fatal("Remembers")
	}
	v.Forget("v")
	if v.Remembers("v") || v.InSync("v", quota, "10", "h1") {
		t.Fatal("forget kept the marks")
	}
}
