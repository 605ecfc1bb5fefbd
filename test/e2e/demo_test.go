package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// controlPlaneProcesses returns the PIDs of processes that a demo starts.
func controlPlaneProcesses() map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		switch name := strings.TrimSpace(string(comm)); name {
		case "etcd", "kube-apiserver", "kube-controller", "manager", "demo":
			out[pid] = name
		}
	}
	return out
}

var _ = Describe("make demo", Ordered, func() {
	var demoBin, demoDir string

	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		demoBin = filepath.Join(dir, "demo")
		demoDir = filepath.Join(dir, "state")
		build := exec.Command("go", "build", "-o", demoBin, "./hack/demo")
		build.Dir = repoRoot
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	})

	demo := func(env ...string) *exec.Cmd {
		cmd := exec.Command(demoBin)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), append([]string{"DEMO_DIR=" + demoDir, "K8S_BIN_DIR=" + binDir, "MANAGER_BIN=" + managerBinary()}, env...)...)
		return cmd
	}

	It("with DEMO_EXIT=1 shows the samples Ready and exits 0", func() {
		before := controlPlaneProcesses()
		out, err := demo("DEMO_EXIT=1").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(MatchRegexp(`team-a\s+True\s+2\s+False`))
		Expect(string(out)).To(MatchRegexp(`data-science\s+True\s+2\s+False`))
		Expect(string(out)).To(MatchRegexp(`gold\s+1\s+1\s+1`))
		Expect(string(out)).To(MatchRegexp(`standard\s+1\s+1\s+1`))
		// Gold's 16 CPUs, then 24, are for the whole tenant: a half each.
		Expect(string(out)).To(ContainSubstring("team-b-dev requests.cpu: 8"))
		Expect(string(out)).To(ContainSubstring("team-b-dev requests.cpu: 12"))
		Expect(string(out)).To(ContainSubstring("team-b-prod requests.cpu: 12"))
		Expect(string(out)).To(MatchRegexp(`team-b status.quotas: .*"requests.cpu":"24".*"name":"compute"`))
		Expect(string(out)).To(MatchRegexp(`team-a-dev\s+team-a-feature-x\s+team-a-feature-x\s+True\s+Reconciled`))
		Expect(string(out)).To(ContainSubstring("Restored by Tenantry after"))
		Expect(string(out)).To(ContainSubstring("can never be a tenant namespace"))
		Expect(string(out)).To(ContainSubstring("ValidatingAdmissionPolicy 'tenantry-protect-managed-objects'"))
		Expect(string(out)).To(ContainSubstring("ValidatingAdmissionPolicy 'tenantry-tenant-namespace-rules'"))
		Expect(string(out)).To(ContainSubstring("ValidatingAdmissionPolicy 'tenantry-workload-guardrails' with binding 'tenantry-workload-guardrails' denied request: " +
			"image docker.io/evil:1 is not from an allowed registry of tenant team-a (ghcr.io/team-a/, registry.example.com/)"))
		Expect(controlPlaneProcesses()).To(Equal(before), "the demo left processes behind")
	})

	It("stops everything on Ctrl-C and leaves no process behind", func() {
		before := controlPlaneProcesses()
		cmd := demo()
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		Expect(cmd.Start()).To(Succeed())
		ready := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			scanner := bufio.NewScanner(stdout)
			for scanner.Scan() {
				if strings.Contains(scanner.Text(), "Press Ctrl-C to stop everything") {
					close(ready)
				}
			}
		}()
		Eventually(ready).WithTimeout(3*time.Minute).Should(BeClosed(), stderr.String())
		running := controlPlaneProcesses()
		Expect(len(running)).To(BeNumerically(">", len(before)+3), "the demo should be running a control plane and the operator")

		Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		Eventually(done).WithTimeout(90 * time.Second).Should(Receive(BeNil()))
		Eventually(controlPlaneProcesses).WithTimeout(10*time.Second).Should(Equal(before), "processes left behind")
	})
})
