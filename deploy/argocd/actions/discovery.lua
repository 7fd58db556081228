-- Argo CD resource actions for DataTrailsIntegration and BearerToken (docs/control.md, docs/argocd.md).
-- Lists what the object offers: refresh (a token request now), rotate (a new client secret; an
-- integration only), suspend and resume. Requests wait while the object is suspended, so refresh
-- and rotate are offered only when it is not. Lua 5.1 (gopher-lua).
local actions = {}
local suspended = obj.spec ~= nil and obj.spec.suspend == true
actions["refresh"] = {["disabled"] = suspended}
if obj.kind == "DataTrailsIntegration" then
  actions["rotate"] = {["disabled"] = suspended}
end
actions["suspend"] = {["disabled"] = suspended}
actions["resume"] = {["disabled"] = not suspended}
return actions
