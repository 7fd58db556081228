-- Argo CD health check for the datatrails.ai kinds, which all carry a Ready condition:
-- DataTrailsIntegration, BearerToken, DataTrailsConnection and ClusterDataTrailsConnection
-- (docs/argocd.md shows where it goes in argocd-cm).
--
-- Argo CD runs this with the live object in the global `obj` and reads the returned table's
-- `status` (Healthy, Progressing, Degraded, Suspended) and `message`. Lua 5.1 (gopher-lua), no
-- libraries needed.
--
--   Suspended    a Suspended condition is True for the current generation (spec.suspend: the
--                operator writes nothing; docs/control.md), whatever Ready says.
--   Healthy      Ready is True and describes the current spec: its observedGeneration (and
--                status.observedGeneration, when present) equals metadata.generation.
--   Progressing  no status yet, no Ready condition, Ready is Unknown, the status describes an older
--                generation, or Ready is False with reason Reconciling (work under way, no failure).
--   Degraded     Ready is False for any other reason; the message is the condition's own.

local hs = {}

local function progressing(message)
  hs.status = "Progressing"
  hs.message = message
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil then
  return progressing("Waiting for the operator to report status")
end

local ready = nil
local suspended = nil
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
    if condition.type == "Suspended" then
      suspended = condition
    end
  end
end

-- Suspended for the current spec: the operator has stopped, and says so.
if suspended ~= nil and suspended.status == "True" and
    (generation == nil or suspended.observedGeneration == generation) then
  hs.status = "Suspended"
  hs.message = suspended.message or "Suspended"
  return hs
end

if ready == nil then
  return progressing("Waiting for the Ready condition")
end

-- A condition written for an older spec says nothing about the current one.
if generation ~= nil then
  if ready.observedGeneration ~= generation then
    return progressing("Waiting for the operator to observe generation " .. tostring(generation))
  end
  if obj.status.observedGeneration ~= nil and obj.status.observedGeneration ~= generation then
    return progressing("Waiting for the operator to observe generation " .. tostring(generation))
  end
end

local message = ready.message
if message == nil or message == "" then
  message = ready.reason or ""
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end

if ready.status == "False" and ready.reason ~= "Reconciling" then
  hs.status = "Degraded"
  hs.message = message
  return hs
end

-- Unknown, or False while Reconciling.
return progressing(message)
