package v1alpha1

// Labels, annotations and names that make up Tenantry's contract with the cluster.
const (
	// TenantLabel marks every object Tenantry manages with the owning tenant's name.
	TenantLabel = "tenantry.io/tenant"
	// ManagedByLabel is set to ManagedByValue on every object Tenantry manages.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel.
	ManagedByValue = "tenantry"
	// Finalizer guards a Tenant until its namespaces are released or deleted.
	Finalizer = "tenantry.io/finalizer"
	// ClassFinalizer keeps a TenantClass while any Tenant names it.
	ClassFinalizer = "tenantry.io/class-in-use"
	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "tenantry"
	// TenantUIDAnnotation on a namespace names the UID of the Tenant that
	// Tenantry created or adopted it for: with the Tenant's inventory, the
	// proof of ownership that a label alone is not.
	TenantUIDAnnotation = "tenantry.io/tenant-uid"
	// AdoptedAnnotation on an adopted namespace holds, as JSON, the labels
	// and annotations that adoption overwrote, restored on release. It is
	// written by AdoptionFieldManager.
	AdoptedAnnotation = "tenantry.io/adopted"
	// ProtectedLabel set to "true" on a namespace keeps it from ever being a
	// tenant namespace; the operator's fence policy enforces it too, so even
	// the operator's own token cannot write to such a namespace.
	ProtectedLabel = "tenantry.io/protected"
	// ClaimAnnotation on a namespace names the NamespaceClaim
	// (<namespace>/<name>) it was created for. The operator's fence lets it
	// be set only when the namespace is created, so a claim can never take
	// an existing namespace.
	ClaimAnnotation = "tenantry.io/claim"
	// ClaimPrefixAnnotation on a tenant namespace mirrors a custom
	// selfService.namePrefix, so that the API server refuses a claim with
	// another prefix at once (the namespace-claim-rules policy).
	ClaimPrefixAnnotation = "tenantry.io/claim-prefix"
	// AdoptionFieldManager writes AdoptedAnnotation.
	AdoptionFieldManager = "tenantry-adoption"
	// ReleaseFieldManager restores what adoption overwrote, on release.
	ReleaseFieldManager = "tenantry-release"
)

// Condition types of a Tenant.
const (
	// ConditionReady is True when every namespace is Active, every managed
	// object matches the spec and the status reflects the latest generation.
	ConditionReady = "Ready"
	// ConditionReconciling is present (and True) only while work is in progress.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is present (and True) only when the spec cannot be
	// realised without a change by a person.
	ConditionStalled = "Stalled"
	// ConditionDrifted is True while uncorrected drift exists.
	ConditionDrifted = "Drifted"
)

// Reasons of the Ready condition (Stalled reasons are also used for Ready=False).
const (
	// ReasonReconciled: everything the spec asks for is in place.
	ReasonReconciled = "Reconciled"
	// ReasonProgressing: objects are being created, updated or removed.
	ReasonProgressing = "Progressing"
	// ReasonReconcileError: a transient error; the operator retries with backoff.
	ReasonReconcileError = "ReconcileError"
	// ReasonDriftReported: managed objects differ from the spec and driftPolicy is Report.
	ReasonDriftReported = "DriftReported"
	// ReasonDeleting: the Tenant is being deleted and its namespaces released or deleted.
	ReasonDeleting = "Deleting"
)

// Reasons of the Stalled condition.
const (
	// ReasonNamespaceConflict: a listed namespace belongs to another tenant or
	// exists without a tenant label (and adoptionPolicy is Never).
	ReasonNamespaceConflict = "NamespaceConflict"
	// ReasonClusterRoleNotAllowed: ownerClusterRole or a roleBindings clusterRole
	// is not in the operator's --allowed-cluster-roles.
	ReasonClusterRoleNotAllowed = "ClusterRoleNotAllowed"
	// ReasonNamespaceProtected: a listed namespace is a system namespace, the
	// operator's own, or one the operator's --protected-namespaces or
	// --protected-namespace-selector name; it is never labelled or adopted.
	ReasonNamespaceProtected = "NamespaceProtected"
	// ReasonInvalidSpec: the API server refuses an object the spec asks for
	// (a quota, limit range or network policy its own validation rejects);
	// nothing of the new spec was applied.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonClassNotFound: spec.class names a TenantClass that does not
	// exist; nothing is applied or changed until it does.
	ReasonClassNotFound = "ClassNotFound"
	// ReasonClassConstraintViolated: the Tenant crosses a constraint of its
	// class; nothing is applied or changed. The message names the field.
	ReasonClassConstraintViolated = "ClassConstraintViolated"
	// ReasonHostnameConflict: spec.workloads.hostnames overlap those another
	// Tenant holds (or, held by none, an earlier Tenant asks for: older
	// creationTimestamp, on a tie the smaller name), which keeps them; the
	// overlapping ones are not granted.
	ReasonHostnameConflict = "HostnameConflict"
)

// Reasons a NamespaceClaim is refused (its Stalled condition); no namespace
// is made for it.
const (
	// ReasonSelfServiceDisabled: the Tenant has no spec.selfService.
	ReasonSelfServiceDisabled = "SelfServiceDisabled"
	// ReasonNamePrefix: the claim's name lacks selfService.namePrefix.
	ReasonNamePrefix = "NamePrefix"
	// ReasonMaxNamespaces: the tenant has selfService.maxNamespaces claimed
	// namespaces already.
	ReasonMaxNamespaces = "MaxNamespaces"
	// ReasonNamespaceExists: the namespace exists (whoever's), is listed in
	// the Tenant's spec, or another claim has it.
	ReasonNamespaceExists = "NamespaceExists"
)

// Reasons of the Drifted condition.
const (
	// ReasonNoDrift: nothing has drifted.
	ReasonNoDrift = "NoDrift"
	// ReasonDriftCorrected: drift was found and corrected; the message names what.
	ReasonDriftCorrected = "DriftCorrected"
	// ReasonDriftDetected: drift exists and is not corrected (Report mode, or a
	// correction failed); the message names the objects.
	ReasonDriftDetected = "DriftDetected"
)

// Event reasons.
const (
	// EventDriftCorrected is emitted when a drifted object was restored.
	EventDriftCorrected = "DriftCorrected"
	// EventDriftDetected is emitted when drift was found and left alone.
	EventDriftDetected = "DriftDetected"
	// EventOwnershipConflict is emitted when an object carries the Tenant's
	// label without proof that Tenantry made it for this Tenant.
	EventOwnershipConflict = "OwnershipConflict"
	// EventAdopted is emitted when a namespace is adopted.
	EventAdopted = "Adopted"
)
