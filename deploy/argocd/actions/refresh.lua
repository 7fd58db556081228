-- Asks for a token request now: datatrails.ai/refresh-requested-at set to the current time (UTC).
-- The operator acts once per value (docs/control.md).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["datatrails.ai/refresh-requested-at"] = os.date("!%Y-%m-%dT%XZ")
return obj
