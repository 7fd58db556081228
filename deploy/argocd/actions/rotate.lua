-- Asks for a new client secret now: datatrails.ai/rotate set to the current time (UTC).
-- The operator acts once per value (docs/control.md). Argo CD's action VM has no global `os`: its
-- restricted os library (date and time only) comes from require("os"), as in its own restart action.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["datatrails.ai/rotate"] = os.date("!%Y-%m-%dT%XZ")
return obj
