package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// manifestExts are the files read from a directory given to -f.
var manifestExts = []string{".yaml", ".yml", ".json"}

// files is the repeatable -f flag.
type files []string

func (f *files) String() string { return strings.Join(*f, ",") }

func (f *files) Set(v string) error {
	*f = append(*f, v)
	return nil
}

// input is what the command reads: Tenants, in order, and TenantClasses.
type input struct {
	tenants []*tenantryv1alpha1.Tenant
	classes map[string]*tenantryv1alpha1.TenantClass
}

// readInput reads every -f source, in order: a file, "-" for stdin, or a
// directory (its manifests, sorted; not recursive), and the --class sources
// the same way. Tenants and TenantClasses are kept; other documents are
// skipped with a note on stderr. Anything unreadable, an object that does
// not decode strictly, a Tenant in a --class source, or two objects of one
// kind and name is an error.
func readInput(sources, classSources []string, stdin io.Reader, stderr io.Writer) (*input, error) {
	if len(sources) == 0 {
		return nil, errors.New("no input: give -f FILE (or -f - for stdin)")
	}
	in := &input{classes: map[string]*tenantryv1alpha1.TenantClass{}}
	seen := map[string]string{}
	read := func(src string, classesOnly bool) error {
		paths, err := expand(src)
		if err != nil {
			return err
		}
		for _, path := range paths {
			objs, err := readSource(path, stdin, stderr)
			if err != nil {
				return err
			}
			name := path
			if path == "-" {
				name = "stdin"
			}
			for _, obj := range objs {
				id := obj.GetObjectKind().GroupVersionKind().Kind + " " + obj.GetName()
				if first, dup := seen[id]; dup {
					return fmt.Errorf("%s: %s is also in %s", name, id, first)
				}
				seen[id] = name
				switch o := obj.(type) {
				case *tenantryv1alpha1.Tenant:
					if classesOnly {
						return fmt.Errorf("%s: %s: --class reads TenantClasses only; give Tenants with -f", name, id)
					}
					in.tenants = append(in.tenants, o)
				case *tenantryv1alpha1.TenantClass:
					in.classes[o.Name] = o
				}
			}
		}
		return nil
	}
	for _, src := range sources {
		if err := read(src, false); err != nil {
			return nil, err
		}
	}
	for _, src := range classSources {
		if err := read(src, true); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// expand turns one -f value into the files it names.
func expand(src string) ([]string, error) {
	if src == "-" {
		return []string{src}, nil
	}
	info, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{src}, nil
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(manifestExts, filepath.Ext(e.Name())) {
			out = append(out, filepath.Join(src, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no %s files", src, strings.Join(manifestExts, ", "))
	}
	return out, nil // ReadDir sorts by name
}

func readSource(path string, stdin io.Reader, stderr io.Writer) ([]client.Object, error) {
	r, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		r, name = f, path
	}
	return decodeObjects(r, name, stderr)
}

// decodeObjects reads the Tenants and TenantClasses of a multi-document
// YAML (or JSON) stream.
func decodeObjects(r io.Reader, name string, stderr io.Writer) ([]client.Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []client.Object
	for doc := 1; ; doc++ {
		data, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		obj, skip, err := decodeObject(data)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		case skip != "":
			_, _ = fmt.Fprintf(stderr, "tenantry: %s: document %d: skipped %s: not a Tenant or TenantClass\n", name, doc, skip)
		case obj != nil:
			out = append(out, obj)
		}
	}
}

// decodeObject decodes one document: a Tenant or a TenantClass, or what it
// is instead (skip), or nothing for an empty document.
func decodeObject(data []byte) (obj client.Object, skip string, err error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, "", err
	}
	if isEmptyDocument(data) {
		return nil, "", nil
	}
	if head.Kind == "" || head.APIVersion == "" {
		return nil, "a document without apiVersion and kind", nil
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return nil, "", err
	}
	id := strings.TrimSpace(head.Kind + " " + head.Metadata.Name)
	switch {
	case gv.Group != tenantryv1alpha1.GroupVersion.Group || head.Kind != "Tenant" && head.Kind != "TenantClass":
		return nil, id, nil
	case gv != tenantryv1alpha1.GroupVersion:
		return nil, "", fmt.Errorf("%s: apiVersion %s is not served; use %s", id, head.APIVersion, tenantryv1alpha1.GroupVersion)
	case head.Metadata.Name == "":
		return nil, "", fmt.Errorf("%s without metadata.name", head.Kind)
	}
	if head.Kind == "Tenant" {
		obj = &tenantryv1alpha1.Tenant{}
	} else {
		obj = &tenantryv1alpha1.TenantClass{}
	}
	// Strict, as kubectl's default field validation: a misspelt field is
	// an error here, not silently dropped.
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, "", fmt.Errorf("%s: %w", id, err)
	}
	// As on apply, the status is the operator's; the metadata but for
	// name, labels and annotations the cluster's.
	switch o := obj.(type) {
	case *tenantryv1alpha1.Tenant:
		o.Status = tenantryv1alpha1.TenantStatus{}
	case *tenantryv1alpha1.TenantClass:
		o.Status = tenantryv1alpha1.TenantClassStatus{}
	}
	obj.GetObjectKind().SetGroupVersionKind(gv.WithKind(head.Kind))
	return obj, "", nil
}

// isEmptyDocument: only comments and blank lines (or an explicit null).
func isEmptyDocument(data []byte) bool {
	var v any
	return yaml.Unmarshal(data, &v) == nil && v == nil
}
