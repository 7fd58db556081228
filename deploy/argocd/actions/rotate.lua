-- Asks for a new client secret now: datatrails.ai/rotate set to the current time (UTC).
-- The operator acts once per value (docs/control.md).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["datatrails.ai/rotate"] = os.date("!%Y-%m-%dT%XZ")
return obj
