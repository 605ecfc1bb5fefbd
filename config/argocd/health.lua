-- Argo CD health check for tenantry.io/Tenant, tenantry.io/NamespaceClaim and
-- tenantry.io/TenantClass (their statuses follow the same conventions).
-- Install under resource.customizations.health.tenantry.io_Tenant,
-- resource.customizations.health.tenantry.io_NamespaceClaim and
-- resource.customizations.health.tenantry.io_TenantClass in argocd-cm
-- (see docs/gitops.md). Follows the kstatus conventions Tenantry's status uses:
-- Stalled -> Degraded, Reconciling or an unobserved generation -> Progressing,
-- Ready -> Healthy. A class is Progressing while it rolls out to its members
-- (Reconciling RollingOut) or waits to be deleted, Healthy once rolled out.
local hs = {}

local function condition(status, type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Tenantry operator to reconcile the " .. (obj.kind or "Tenant")
  return hs
end

if obj.metadata ~= nil and obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Tenantry operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

local stalled = condition(obj.status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
  return hs
end

local reconciling = condition(obj.status, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.reason .. ": " .. (reconciling.message or "")
  return hs
end

local ready = condition(obj.status, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end

if ready ~= nil and ready.reason == "DriftReported" then
  -- driftPolicy: Report and someone changed a managed object: needs a person.
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. (ready.message or "")
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = ready.reason .. ": " .. (ready.message or "")
else
  hs.message = "Waiting for the Ready condition"
end
return hs
