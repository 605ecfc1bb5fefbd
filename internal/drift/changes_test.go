package drift

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// quotaOf renders team-a-dev's quota of a tenant with the given hard limits.
func quotaOf(t *testing.T, hard corev1.ResourceList) render.Object {
	t.Helper()
	tn := testTenant()
	tn.Spec.ResourceQuotas[0].Hard = hard
	e := effective.Of(tn, testOptions)
	for _, c := range render.Children(e, "team-a-dev", true) {
		if c.Kind == kinds.ResourceQuota {
			return c
		}
	}
	t.Fatal("no quota rendered")
	return render.Object{}
}

func TestChanges(t *testing.T) {
	q := resource.MustParse
	was := quotaOf(t, corev1.ResourceList{"pods": q("10"), "requests.cpu": q("4"), "limits.cpu": q("8")})
	tn := testTenant()
	tn.Spec.Namespaces[0].Labels["env"] = "prod"
	ns := render.Namespace(effective.Of(tn, testOptions), tn.Spec.Namespaces[0], nil)
	nsWas := desiredObjects()[kinds.Namespace].obj

	cases := []struct {
		name    string
		desired render.Object
		live    func() *drifttest.Stored
		want    []Change
	}{{
		name:    "in sync",
		desired: was,
		live:    func() *drifttest.Stored { return drifttest.Applied(t, was) },
	}, {
		name:    "a limit raised, one dropped: old and new values, quantities canonical",
		desired: quotaOf(t, corev1.ResourceList{"pods": q("10"), "requests.cpu": q("8000m")}),
		live:    func() *drifttest.Stored { return drifttest.Applied(t, was) },
		want: []Change{
			{Path: Path{"spec", "hard", "limits.cpu"}, Old: "8", New: nil},
			{Path: Path{"spec", "hard", "requests.cpu"}, Old: "4", New: "8"},
		},
	}, {
		name:    "a field another manager took over shows what it holds now",
		desired: was,
		live: func() *drifttest.Stored {
			s := drifttest.Applied(t, was)
			s.Write("intruder", Path{"spec", "hard", "pods"}, "1000")
			return s
		},
		// 1000 reads back canonical, as the API server serves it.
		want: []Change{{Path: Path{"spec", "hard", "pods"}, Old: "1k", New: "10"}},
	}, {
		name:    "a namespace label",
		desired: ns,
		live:    func() *drifttest.Stored { return drifttest.Applied(t, nsWas) },
		want:    []Change{{Path: Path{"metadata", "labels", "env"}, Old: "dev", New: "prod"}},
	}, {
		name:    "a label tenantry owns removed by someone: absent on the live side",
		desired: ns,
		live: func() *drifttest.Stored {
			s := drifttest.Applied(t, ns)
			s.Remove(labelPath(tenantryv1alpha1.ManagedByLabel))
			return s
		},
		want: []Change{{Path: labelPath(tenantryv1alpha1.ManagedByLabel), Old: nil, New: tenantryv1alpha1.ManagedByValue}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Changes(tc.desired, tc.live().Object(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Changes:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestChangesUnmanagedType(t *testing.T) {
	if _, err := Changes(desiredObjects()[kinds.Namespace].obj, &corev1.Pod{}); err == nil {
		t.Fatal("an object of a kind Tenantry does not manage has no extractor: want an error")
	}
}
