package e2e

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tenantry/tenantry/test/badtenants"
)

var _ = Describe("Bad input at kubectl apply", func() {
	// Client-side apply (kubectl's and Argo CD's default) creates the
	// Tenant and gets the create path's messages; server-side apply (Flux)
	// words duplicate list keys its own way, so it is held to the field.
	It("refuses every invalid Tenant with a message naming the field, and stores nothing", func(ctx SpecContext) {
		for _, tc := range badtenants.Invalid {
			obj, err := tc.Tenant()
			Expect(err).NotTo(HaveOccurred())
			manifest, err := json.Marshal(obj.Object)
			Expect(err).NotTo(HaveOccurred())
			out, err := cluster.KubectlStdin(ctx, manifest, "apply", "-f", "-")
			Expect(err).To(HaveOccurred(), "%s: kubectl apply accepted it:\n%s", tc.Name, out)
			for _, want := range tc.Want {
				Expect(out).To(ContainSubstring(want), "%s", tc.Name)
			}
			out, err = cluster.KubectlStdin(ctx, manifest, "apply", "--server-side", "-f", "-")
			Expect(err).To(HaveOccurred(), "%s: kubectl apply --server-side accepted it:\n%s", tc.Name, out)
			field, _, _ := strings.Cut(tc.Want[0], "[")
			Expect(out).To(ContainSubstring(field), "%s (server-side)", tc.Name)
			out, err = cluster.Kubectl(ctx, "get", "tenant", obj.GetName(), "--ignore-not-found", "-o", "name")
			Expect(err).NotTo(HaveOccurred())
			Expect(strings.TrimSpace(out)).To(BeEmpty(), "%s: a refused Tenant was stored", tc.Name)
		}
		// The operator saw nothing: the base spec's namespace was never made.
		out, err := cluster.Kubectl(ctx, "get", "namespace", "valid-a", "--ignore-not-found", "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(out)).To(BeEmpty())
	})

	It("accepts the valid Tenants at the same boundaries", func(ctx SpecContext) {
		for _, tc := range badtenants.Valid {
			obj, err := tc.Tenant()
			Expect(err).NotTo(HaveOccurred())
			manifest, err := json.Marshal(obj.Object)
			Expect(err).NotTo(HaveOccurred())
			out, err := cluster.KubectlStdin(ctx, manifest, "apply", "--server-side", "--dry-run=server", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), "%s: %s", tc.Name, out)
		}
	})
})
