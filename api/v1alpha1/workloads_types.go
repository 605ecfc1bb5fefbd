package v1alpha1

// Annotations on each tenant namespace that carry a Tenant's guardrails to
// the admission policies (config/policies), which read them from the
// namespace. Lists are comma-separated; absent means unrestricted.
const (
	RegistriesAnnotation      = "tenantry.io/registries"
	ImagePullPolicyAnnotation = "tenantry.io/image-pull-policy"
	StorageClassesAnnotation  = "tenantry.io/storage-classes"
	PriorityClassesAnnotation = "tenantry.io/priority-classes"
	RuntimeClassesAnnotation  = "tenantry.io/runtime-classes"
	IngressClassesAnnotation  = "tenantry.io/ingress-classes"
	// HostnamesAnnotation lists only the hostnames granted (no conflict).
	HostnamesAnnotation    = "tenantry.io/hostnames"
	ServiceTypesAnnotation = "tenantry.io/service-types"
	// NodeSelectorAnnotation: key=value,key=value.
	NodeSelectorAnnotation = "tenantry.io/node-selector"
	// TolerationsAnnotation: key=value:Effect (Equal), key:Effect (Exists),
	// the ":Effect" left out when every effect is tolerated.
	TolerationsAnnotation = "tenantry.io/tolerations"
	// IsolationAnnotation and EgressAnnotation name the presets in force
	// (Tenant or Namespace; absent for None): tenants' own NetworkPolicies
	// may then not widen them.
	IsolationAnnotation = "tenantry.io/isolation"
	EgressAnnotation    = "tenantry.io/egress"
	// AllowIngressFromAnnotation and AllowEgressToAnnotation encode the
	// Tenant's extra peers that tenants' own NetworkPolicies may repeat
	// (render.EncodePeer).
	AllowIngressFromAnnotation = "tenantry.io/allow-ingress-from"
	AllowEgressToAnnotation    = "tenantry.io/allow-egress-to"
)

// Workloads are guardrails on what runs in the tenant's namespaces. The API
// server enforces them with admission policies (config/policies) that read
// them from annotations Tenantry writes on each tenant namespace; an empty
// or absent list leaves that aspect unrestricted (service types excepted).
type Workloads struct {
	// registries: every container, init container and ephemeral container
	// image must start with one of these prefixes, e.g. ghcr.io/team-a/.
	// Images are matched as written: nginx:1 is not docker.io/library/nginx:1.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Registries []RegistryPrefix `json:"registries,omitempty"`

	// imagePullPolicy Always makes every container pull its image on each
	// start, so a pod cannot run an image another tenant pulled to the node.
	// +optional
	ImagePullPolicy ImagePullPolicy `json:"imagePullPolicy,omitempty"`

	// storageClasses: PersistentVolumeClaims must name one of these classes.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	StorageClasses []ClassName `json:"storageClasses,omitempty"`

	// priorityClasses: pods must name one of these PriorityClasses.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	PriorityClasses []ClassName `json:"priorityClasses,omitempty"`

	// runtimeClasses: pods must name one of these RuntimeClasses.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	RuntimeClasses []ClassName `json:"runtimeClasses,omitempty"`

	// ingressClasses: an Ingress must set spec.ingressClassName to one of these.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	IngressClasses []ClassName `json:"ingressClasses,omitempty"`

	// hostnames an Ingress may serve (rules and TLS): exact names, or a
	// leading "*." label covering one label below it. A hostname another
	// Tenant holds, or (held by none) an earlier Tenant asks for, is not
	// granted (Stalled HostnameConflict). Granted ones are refused to every
	// other tenant.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Hostnames []Hostname `json:"hostnames,omitempty"`

	// serviceTypes Services may have. Default: ClusterIP, NodePort and
	// LoadBalancer; ExternalName only when listed.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	ServiceTypes []ServiceType `json:"serviceTypes,omitempty"`

	// nodeSelector entries every pod must carry. Where the API server serves
	// MutatingAdmissionPolicy, Tenantry's adds them to pods and workload
	// templates; elsewhere pods must set them themselves.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",message="node selector keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	NodeSelector map[string]LabelValue `json:"nodeSelector,omitempty"`

	// tolerations pods may carry, besides tolerations of Kubernetes' own
	// node-condition taints (node.kubernetes.io/ keys, operator Exists, such
	// as the default not-ready and unreachable ones). A pod's toleration is
	// allowed when one of these covers it: same key and effect, and the same
	// value unless this one is Exists; one without effect covers all.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Tolerations []Toleration `json:"tolerations,omitempty"`
}

// RegistryPrefix is the start of an image reference: a registry host (with
// an optional port) and optional path components, ending in "/".
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?/([a-z0-9]+(([._]|__|-+)[a-z0-9]+)*/)*$')",message="a registry must be an image reference prefix ending in '/': a registry host with an optional port, then optional lowercase path components, e.g. ghcr.io/team-a/ (without the final '/', ghcr.io/team-a would admit ghcr.io/team-abc)"
type RegistryPrefix string

// ClassName names a StorageClass, PriorityClass, RuntimeClass or IngressClass.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="a class name must be a DNS subdomain: lowercase alphanumerics, '-' and '.'"
type ClassName string

// Hostname is a DNS name, or "*." followed by one.
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self.startsWith('*.') ? self.substring(2) : self).hasValue() && !self.matches('^[*.]*[0-9.]+$')",message="a hostname must be a lowercase DNS name, optionally with one leading '*.' label (*.team-a.example.com), and not an IP address"
type Hostname string

// ImagePullPolicy is the pull policy every container must have.
// +kubebuilder:validation:Enum=Always
type ImagePullPolicy string

// ImagePullAlways requires every container to pull its image on each start.
const ImagePullAlways ImagePullPolicy = "Always"

// ServiceType is a Service's spec.type.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer;ExternalName
type ServiceType string

// DefaultServiceTypes are the Service types allowed when serviceTypes is empty.
var DefaultServiceTypes = []ServiceType{"ClusterIP", "NodePort", "LoadBalancer"}

// TolerationOperator is Equal (the default) or Exists.
// +kubebuilder:validation:Enum=Equal;Exists
type TolerationOperator string

// Toleration operators.
const (
	TolerationOpEqual  TolerationOperator = "Equal"
	TolerationOpExists TolerationOperator = "Exists"
)

// TaintEffect is a taint's effect.
// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
type TaintEffect string

// Toleration is a toleration pods may carry, in the shape of a pod's.
// +kubebuilder:validation:XValidation:rule="!has(self.operator) || self.operator != 'Exists' || !has(self.value) || size(self.value) == 0",message="a toleration with operator Exists matches every value: leave value out",fieldPath=".value"
type Toleration struct {
	// key of the taint tolerated.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:XValidation:rule="!format.qualifiedName().validate(self).hasValue()",message="a toleration key must be a qualified name, like a label key"
	Key string `json:"key"`

	// operator is Equal (default) or Exists.
	// +optional
	Operator TolerationOperator `json:"operator,omitempty"`

	// value the taint must have (operator Equal).
	// +optional
	Value LabelValue `json:"value,omitempty"`

	// effect tolerated; empty tolerates every effect.
	// +optional
	Effect TaintEffect `json:"effect,omitempty"`
}
